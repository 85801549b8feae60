runner {
  program    = "a"
  exit-codes = [0, 256]
}
