runner {
  program  = "sleep 100"
  watchdog = "500ms"
}

healthcheck "http" {
  url = "http://127.0.0.1:8080/health"
  liveness {
    failures = 0
    grace    = "-1s"
  }
}

healthcheck "notify" {
  liveness {
    interval = "10s"
  }
}
