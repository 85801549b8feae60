runner { program = "server" }
listen "a" { address = "localhost:8080" }
listen "b" { address = "127.0.0.1:99999" }
listen "c" { address = "unix:run/app.sock" }
listen "d" { address = 8080 }
listen "e" {}
