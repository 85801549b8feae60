runner {
  program = "a"
}
runner {
  program = "b"
}
