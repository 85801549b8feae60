runner {
  program = var.x
}
