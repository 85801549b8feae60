runner {
  program = []
}
