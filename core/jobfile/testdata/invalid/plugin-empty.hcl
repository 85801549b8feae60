runner {
  program = "a"
}
transcript "file" {
  plugin = ""
}
