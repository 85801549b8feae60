runner {
  program = "sleep 100"
