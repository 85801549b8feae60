runner {
  program = "a"
}
eventlog {
  level = "loud"
}
