runner {
  program = "a"
}
healthcheck "tcp" {
  port = 80
}
