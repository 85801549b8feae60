runner {
  program = "a"
}
healthcheck "tcp" {
  address = "127.0.0.1:8080"
  liveness {
    interval = "10s"
    failures = 0
  }
}
