# Every runner key.
runner {
  program                = ["sh", "-c", "exit 1"]
  socket-name            = "/run/app/zdsock"
  daemon                 = false
  directory              = "/srv/app"
  backoff-limit          = 4
  forever                = true
  exit-codes             = [0, 3, -1]
  start-timeout          = 12
  stop-timeout           = 1.5
  user                   = 65534
  umask                  = "0o27"
  default-to-interactive = false
  logfile                = "app.log"
  transcript             = "out.log"
  prompt                 = "app> "
  hang-around            = true
  python                 = "/usr/bin/python3"
  zdrun                  = "/usr/bin/zdrun"
  signal-group           = false
  start-grace            = "100ms"
}
