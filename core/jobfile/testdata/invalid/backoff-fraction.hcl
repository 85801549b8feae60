runner {
  program       = "a"
  backoff-limit = 1.5
}
