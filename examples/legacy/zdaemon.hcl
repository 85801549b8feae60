# Converted by zdaemon convert from examples/legacy/zdaemon.conf.

# A zdaemon configuration in the original's ZConfig format. zdaemon runs it
# unchanged (zdaemon -C examples/legacy/zdaemon.conf start); zdaemon.hcl
# next to it is what "zdaemon convert" makes of it.

runner {
  # The program and its arguments, split on whitespace (ZConfig has no
  # quoting; a job file's program list does).
  program       = ["sleep", "3600"]
  socket-name   = "/tmp/zdaemon-legacy.zdsock"
  backoff-limit = 5
  forever       = true
  # Exit status 0 means "stop on purpose".
  exit-codes   = [0]
  stop-timeout = 10
}

environment {
  GREETING = "hello from zdaemon"
}

eventlog {
  level = "info"
  logfile {
    path = "/tmp/zdaemon-legacy.log"
  }
}
