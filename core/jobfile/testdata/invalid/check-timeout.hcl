runner {
  program = "a"
}
healthcheck "tcp" {
  address = "x:1"
  timeout = "soon"
}
