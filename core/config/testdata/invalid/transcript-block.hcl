runner {
  program = "a"
}
transcript "file" {
  path = "x"
}
