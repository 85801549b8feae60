runner {
  program  = "sleep 100"
  watchdog = "30s"
}

healthcheck "http" {
  url      = "http://127.0.0.1:8080/health"
  interval = "250ms"
  liveness {
    interval = "10s"
    failures = 5
    grace    = 30
  }
}

healthcheck "tcp" {
  address = "127.0.0.1:8080"
  liveness {
    interval = 1
  }
}
