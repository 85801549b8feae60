runner {
  program = "env"
}

environment {
  LD_LIBRARY_PATH = "/home/foo/lib"
  HOME            = "/home/foo"
  MyVar           = "kept case"
  EMPTY           = ""
  PORT            = 8080
}
