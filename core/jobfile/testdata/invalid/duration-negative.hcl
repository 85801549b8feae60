runner {
  program       = "a"
  start-timeout = -3
}
