runner {
  program = "sleep 100"
  user    = 4242
}
