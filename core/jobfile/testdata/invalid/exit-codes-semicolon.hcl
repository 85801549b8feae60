runner {
  program = "a"
  exit-codes = "1;2"
}
