runner {
  program = "a"
}
healthcheck {
}
