runner {
  program     = ["env"]
  socket-name = "/tmp/demo.zdsock"
}

environment {
  LD_LIBRARY_PATH = "/home/foo/lib"
  HOME            = "/home/foo"
}
