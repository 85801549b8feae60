# Values HCL must quote: quotes, backslashes, ${...} and %{...} kept literal,
# control and unprintable characters, combining marks (NFC), other scripts.

runner {
  program       = ["/bin/echo", "\"a", "b\"", "back\\slash", "$${HOME}", "%%{if}", "$$${x}", "%%%{y}", "100%", "$", "ex", "ex$", "é"]
  python        = "tab\tin\u0001\u007f\u0085\u00a0\u00ad\u200b\u2028\U000e0001😀 é 각"
  socket-name   = "/tmp/ünïcödé/ｓｏｃｋ"
  directory     = "/srv/a\u000cb\u000bc\u0000d"
  exit-codes    = [0, -1, 255]
  transcript    = "$${x}%%{y}$${%%{}}\\\""
  backoff-limit = 1234567890
  umask         = "022"
  # A comment with "quotes", ${x} and \backslash */ /* //  é
  user = "$"
}

environment {
  CAFÉ  = "café"
  éx    = "combining"
  abc   = "three"
  été   = "summer"
  in    = "keyword"
  EMPTY = ""
}
