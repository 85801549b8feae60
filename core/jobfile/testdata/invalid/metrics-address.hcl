runner {
  program = "a"
}
metrics {
  address = "localhost"
}
