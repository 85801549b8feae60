runner {
  program     = "a"
  start-grace = "-1s"
}
