runner {
  program = ["sleep", "100"]
}

eventlog {
  logfile {
    path = "event.log"
    # Not translated: max-size 10MB
    # Not translated: old-files 3
  }
  # Not translated: a <syslog> handler (line 10).
}

# warnings:
# Warning: max-size is not supported; ignored
# 
#   on testdata/legacy/unsupported-handlers.conf line 7:
#    7:     max-size 10MB
# 
# Job-file logfiles do not rotate or take formatter options; rotate with
# reopen_transcript or logreopen.
# 
# Warning: old-files is not supported; ignored
# 
#   on testdata/legacy/unsupported-handlers.conf line 8:
#    8:     old-files 3
# 
# Job-file logfiles do not rotate or take formatter options; rotate with
# reopen_transcript or logreopen.
# 
# Warning: <syslog> handlers are not supported; ignored
# 
#   on testdata/legacy/unsupported-handlers.conf line 10:
#   10:   <syslog>
# 
# Job files log to files, STDOUT and STDERR (logfile blocks) only.
