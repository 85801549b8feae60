runner { program = "server" }
listen "web:80" { address = "127.0.0.1:80" }
listen "two words" { address = "127.0.0.1:81" }
listen "" { address = "127.0.0.1:82" }
