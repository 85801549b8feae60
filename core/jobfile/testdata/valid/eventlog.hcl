runner {
  program    = "sleep 1"
  exit-codes = []
}

eventlog {
  level = "debug"
  logfile {
    path = "STDOUT"
  }
  logfile {
    path       = "/var/log/zd.log"
    level      = "WARNING"
    format     = "%(levelname)s %(message)s"
    dateformat = "%H:%M"
  }
}
