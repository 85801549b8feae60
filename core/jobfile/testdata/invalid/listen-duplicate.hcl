runner { program = "server" }
listen "web" { address = "127.0.0.1:8080" }
listen "web" { address = "127.0.0.1:8081" }
listen "again" { address = "127.0.0.1:8080" }
listen "wild" { address = "0.0.0.0:8081" }
listen "sock" { address = "unix:/run/a.sock" }
listen "sock2" { address = "unix:/run/a.sock" }
