runner {
  program = ["a", ["b"]]
}
