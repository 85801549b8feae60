runner {
  program    = ["sleep", "100"]
  exit-codes = [0, 1, 3]
  umask      = "077"
}
