# The original's string forms work too.
runner {
  program       = "sleep 100"
  backoff-limit = "7"
  forever       = "yes"
  exit-codes    = "0, 1 ,3"
  start-timeout = "5m"
  stop-timeout  = "30"
  umask         = "077"
}
