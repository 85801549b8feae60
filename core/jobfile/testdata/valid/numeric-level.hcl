runner {
  program = "true"
}
eventlog {
  level = 15
}
