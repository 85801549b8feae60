# A job whose start waits for its log to say it is ready.
runner {
  program     = ["sh", "-c", "sleep 1; echo 'Listening on port 8080' >> /tmp/zdaemon-logline.log; exec sleep 3600"]
  socket-name = "/tmp/zdaemon-logline.zdsock"
}

healthcheck "logline" {
  plugin   = "healthcheck-logline" # built next to this file
  path     = "/tmp/zdaemon-logline.log"
  pattern  = "Listening on port \\d+"
  interval = "200ms"
}
