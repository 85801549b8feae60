runner { program = "server" }
listen "a" {
  address = "127.0.0.1:80"
  backlog = 0
}
listen "b" {
  address = "127.0.0.1:81"
  backlog = 70000
}
listen "c" {
  address = "127.0.0.1:82"
  backlog = 1.5
}
listen "d" {
  address = "unix:/run/d.sock"
  mode    = 660
}
listen "e" {
  address = "unix:/run/e.sock"
  mode    = "444"
}
listen "f" {
  address = "127.0.0.1:83"
  mode    = "660"
}
