runner {
  program       = "sleep 100"
  socket-name   = "zdsock"
  stop-signal   = "TERMINATE"
  reload-signal = "SIGHUP2"
}

listen "web" { address = "localhost:8080" }
listen "web" { address = "127.0.0.1:8081" }
listen "admin:1" {
  address = "unix:/tmp/zd-admin.sock"
  backlog = 100000
}
listen "copy" { address = "127.0.0.1:8081" }
