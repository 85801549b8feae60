runner {
  program = "a"
}
healthcheck "tcp" {
  address  = "127.0.0.1:1"
  interval = 0
}
