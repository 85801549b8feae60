runner {
  program  = "a"
  watchdog = "500ms"
}
