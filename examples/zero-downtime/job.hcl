# Zero downtime: zdaemon holds the server's listening socket (clients
# queue in its backlog while the server restarts or crashes), restarts it
# when its /health stops answering (liveness), and when it stops pinging
# the watchdog; "upgrade" replaces the manager under the running server. Build the server next to this file first:
#
#   go build -o examples/zero-downtime/server ./examples/zero-downtime
#   zdaemon -C examples/zero-downtime/job.hcl start
#   curl http://127.0.0.1:8089/            # hello from pid N
#   zdaemon -C examples/zero-downtime/job.hcl restart   # no refused connection
#   zdaemon -C examples/zero-downtime/job.hcl show      # sockets, health
#   zdaemon -C examples/zero-downtime/job.hcl upgrade   # a new manager, same server
#   zdaemon -C examples/zero-downtime/job.hcl stop
runner {
  program      = ["examples/zero-downtime/server"]
  socket-name  = "/tmp/zdaemon-zero-downtime.zdsock"
  stop-timeout = 10
  watchdog     = "5s"        # the server pings every 2.5 s
}

listen "web" {
  address = "127.0.0.1:8089"
}

healthcheck "http" {
  url      = "http://127.0.0.1:8089/health"
  interval = "500ms"         # at start: until it answers
  timeout  = "2s"
  liveness {
    interval = "5s"          # then every 5 s while it is up
    failures = 3             # 3 failures in a row: restart
    grace    = "10s"
  }
}

eventlog {
  logfile {
    path = "/tmp/zdaemon-zero-downtime.log"
  }
}
