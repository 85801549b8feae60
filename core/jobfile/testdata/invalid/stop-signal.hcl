runner {
  program       = "server"
  stop-signal   = "SIGBOGUS"
  reload-signal = 99
}
