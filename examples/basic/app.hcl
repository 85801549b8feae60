# A minimal zdaemon job: keep a program running in the background.
#
#   zdaemon -C examples/basic/app.hcl start
#   zdaemon -C examples/basic/app.hcl status
#   zdaemon -C examples/basic/app.hcl stop
runner {
  # The program and its arguments: a string is split on whitespace, a list
  # is taken word for word.
  program = ["sh", "-c", "while :; do date; sleep 5; done"]

  # The control socket; relative paths are relative to where you run
  # zdaemon.
  socket-name = "/tmp/zdaemon-quickstart.zdsock"

  # Restart a crashing program with 1, 2, 3... second delays, giving up
  # after 5 quick crashes in a row.
  backoff-limit = 5

  # On stop: SIGTERM, then SIGKILL after 10 seconds.
  stop-timeout = 10
}

environment {
  GREETING = "hello from zdaemon"
}

eventlog {
  level = "info"
  logfile {
    path = "/tmp/zdaemon-quickstart.log"
  }
}
