runner {
  program       = "server"
  stop-signal   = "QUIT"
  reload-signal = 10
}

listen "http" {
  address = "0.0.0.0:8080"
}

listen "admin" {
  address = "unix:/run/app/admin.sock"
  backlog = 16
  mode    = "0660"
}

listen "v6" { address = "[::1]:8080" }
