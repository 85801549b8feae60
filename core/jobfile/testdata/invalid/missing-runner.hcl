# nothing here
environment {
  A = "b"
}
