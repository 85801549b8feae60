runner {
  program       = "sleep 100"
  backoff-limit = 0
  umask         = 022
  colour        = "blue"
}
