# Values that are well-formed but wrong for this machine.
runner {
  program     = "sleep 100"
  socket-name = "/nonexistent-zd/run/app/zdsock"
  directory   = "/nonexistent-zd/srv/app"
  user        = "nosuchuserzd"
  transcript  = "/nonexistent-zd/log/out.log"
  logfile     = "/nonexistent-zd/log/app.log"
}

eventlog {
  logfile {
    path = "STDERR"
  }
  logfile {
    path = "/nonexistent-zd/log/zdaemon.log"
  }
}
