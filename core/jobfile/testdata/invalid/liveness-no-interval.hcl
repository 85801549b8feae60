runner {
  program = "a"
}
healthcheck "http" {
  url = "http://127.0.0.1:8080/health"
  liveness {
    failures = 3
  }
}
