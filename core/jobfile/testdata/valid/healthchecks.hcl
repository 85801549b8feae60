runner {
  program            = "sleep 100"
  start-test-program = ["cat", "ready"]
}

healthcheck "tcp" {
  address  = "127.0.0.1:8080"
  interval = "250ms"
  timeout  = 2
}

healthcheck "notify" {}
