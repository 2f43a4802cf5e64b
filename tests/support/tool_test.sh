# What the tools' end-to-end shell tests share; sourced, not run.
#   enter_workdir DIR   an empty DIR as the working directory, one thread
#   fail MESSAGE        prints FAIL and exits 1
#   is_png FILE         fails unless FILE exists and starts with PNG's signature

enter_workdir() {
  rm -rf "$1"; mkdir -p "$1"; cd "$1"
  export GML_NUM_THREADS="${GML_NUM_THREADS:-1}"
}
fail() { echo "FAIL: $*"; exit 1; }
is_png() {
  [ -s "$1" ] || fail "$1 was not written"
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] ||
    fail "$1 is not a PNG"
}
