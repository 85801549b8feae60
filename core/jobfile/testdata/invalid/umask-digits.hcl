runner {
  program = "a"
  umask   = "8"
}
