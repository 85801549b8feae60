runner {
  program = "a"
  backoff_limit = 3
}
