runner {
  program = "a"
}
transcript "file" {
  path = "a"
}
transcript "file" {
  path = "b"
}
