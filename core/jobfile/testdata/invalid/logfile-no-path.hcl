runner {
  program = "a"
}
eventlog {
  logfile {
    level = "info"
  }
}
