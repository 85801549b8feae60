# A zope.conf-style file: the host application's settings stay aside.

# Not translated: settings of the host application, which zdaemon does not read:
#   instancehome (line 3), <zodb_db> (line 5)

runner {
  program = ["/srv/zope/bin/runzope"]
  daemon  = true
}

eventlog {
  level = "info"
  logfile {
    path   = "/srv/zope/log/event.log"
    level  = "debug"
    format = "%(asctime)s %(message)s"
  }
}
