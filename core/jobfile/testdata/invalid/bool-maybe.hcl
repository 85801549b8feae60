runner {
  program = "a"
  forever = "maybe"
}
