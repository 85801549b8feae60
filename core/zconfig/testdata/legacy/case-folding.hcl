runner {
  program       = ["sleep", "100"]
  backoff-limit = 3
  forever       = true
  daemon        = false
}

environment {
  MyVar = "kept case"
  EMPTY = ""
}
