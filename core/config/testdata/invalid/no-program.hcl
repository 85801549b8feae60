runner {
  socket-name = "x"
}
