runner {
  program = "a"
}
environment {
  LIST = ["a"]
}
