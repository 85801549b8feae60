runner {
  program    = ["tail", "-f", "data"]
  transcript = "log"
}
