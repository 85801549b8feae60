runner {
  program = "a"
}
environment {
  A = "1"
}
environment {
  B = "2"
}
