program = "a"
