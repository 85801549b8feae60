runner {
  program = "a"
  daemon  = "perhaps"
}
