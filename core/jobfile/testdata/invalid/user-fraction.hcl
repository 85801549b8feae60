runner {
  program = "a"
  user    = 1.5
}
