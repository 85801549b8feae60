runner {
  program    = "sleep 100"
  transcript = "nodir/out.log"
}
