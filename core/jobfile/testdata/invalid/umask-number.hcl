runner {
  program = "a"
  umask   = 022
}
