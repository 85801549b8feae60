runner {
  program = "a"
}
eventlog {
  format = "xml"
}
