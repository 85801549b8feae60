runner {
  program = "a"
}
logger {
}
