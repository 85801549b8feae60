runner {
  # included inside <runner>
  program       = ["sleep", "5"]
  backoff-limit = 4
  transcript    = "/var/log/app/out.log"
}

eventlog {
  logfile {
    path = "/var/log/app/event.log"
  }
}
