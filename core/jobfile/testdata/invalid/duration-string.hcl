runner {
  program      = "a"
  stop-timeout = "soon"
}
