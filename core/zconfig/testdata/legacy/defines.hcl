# $$ is a literal dollar; $(ZD_TEST_HOME) comes from the environment.

runner {
  program     = ["/srv/app/bin/run", "--price", "$5", "/home/zd"]
  directory   = "/srv/app"
  socket-name = "/srv/run/zdsock"
}
