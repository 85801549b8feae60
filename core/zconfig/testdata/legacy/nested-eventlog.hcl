runner {
  program = ["sleep", "100"]
}

eventlog {
  level = "debug"
  logfile {
    path = "runner-event.log"
  }
}
