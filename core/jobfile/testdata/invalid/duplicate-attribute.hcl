runner {
  program = "a"
  program = "b"
}
