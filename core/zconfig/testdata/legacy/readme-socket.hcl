runner {
  program     = ["sleep", "100"]
  socket-name = "/tmp/demo.zdsock"
}
