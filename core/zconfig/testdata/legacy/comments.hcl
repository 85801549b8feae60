# Header comment of the file.
# Second line.

# Comment before the runner.

runner {
  # The program.
  program = ["sleep", "100"]
  # Two groups of comments
  # before a key.

  # The second group.
  backoff-limit = 5
  # Trailing comment in the runner.
}

# Trailing comment of the file.
