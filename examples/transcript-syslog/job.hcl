# A job whose output goes to syslog through the example sink.
runner {
  program     = ["sh", "-c", "while :; do echo hello from zdaemon; sleep 5; done"]
  socket-name = "/tmp/zdaemon-syslog.zdsock"
}

transcript "syslog" {
  plugin   = "transcript-syslog" # built next to this file
  tag      = "zdaemon-example"
  facility = "local0"
}
