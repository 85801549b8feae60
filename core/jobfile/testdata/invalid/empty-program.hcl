runner {
  program = ""
}
