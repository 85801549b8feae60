runner {
  program = "a"
}
healthcheck "notify" {
  liveness {
    interval = "10s"
  }
}
