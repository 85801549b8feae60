runner {
  program       = "a"
  backoff-limit = true
}
