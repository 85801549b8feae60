runner {
  program = "a"
  user    = true
}
