runner "web" {
  program = "a"
}
