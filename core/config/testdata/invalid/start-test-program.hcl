runner {
  program            = "a"
  start-test-program = "cat x"
}
