runner {
  program    = ["sleep", "1"]
  exit-codes = []
}

environment {
}

eventlog {
  # first level
  level = "debug"
  logfile {
    path   = "b.log"
    format = "%(message)s"
    # second path
  }
  # second level
  logfile {
    path = "STDERR"
  }
}
