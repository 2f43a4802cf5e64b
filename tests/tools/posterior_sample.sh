#!/usr/bin/env bash
# gml-posterior sample: observations from --x and from a text file give the
# same draws (same seed), each output format is written, wrong widths and
# unknown extensions are refused with one line and no file, and `run`
# refuses the SDSS default mapping for a model of another simulator.
#   posterior_sample.sh GML_POSTERIOR MODEL DATA_DIR WORKDIR
set -euo pipefail
posterior="$1"; model="$2"; data="$3"; work="$4"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export GML_NUM_THREADS="${GML_NUM_THREADS:-1}"
fail() { echo "FAIL: $*"; exit 1; }

"$posterior" sample --model "$model" --x 0.1,0.2,0.3,0.4 --x 1,0,-1,0.5 --n 64 --seed 7 \
  --out cli.npy --device cpu 2> summary.txt
grep -q "observation 1 (" summary.txt || { cat summary.txt; fail "no summary of observation 1"; }
printf '# two observations\n0.1, 0.2 0.3,0.4\n\n1,0,-1,0.5  # second\n' > obs.txt
"$posterior" sample --model "$model" --x-file obs.txt --n 64 --seed 7 --out file.npy -q --device cpu
cmp cli.npy file.npy || fail "--x and --x-file gave different draws"
# 2 x 64 draws of 3 parameters in float64 behind a 128-byte .npy header.
[ "$(stat -c %s cli.npy)" -eq $((128 + 2 * 64 * 3 * 8)) ] || fail "cli.npy has the wrong size"
for out in draws.fits draws.h5; do
  "$posterior" sample --model "$model" --x-file obs.txt --n 64 --seed 7 --out "$out" -q --device cpu
  [ -s "$out" ] || fail "$out was not written"
done

expect_refusal() {
  local want="$1"; shift
  if "$@" > out.txt 2> err.txt; then fail "$* succeeded"; fi
  [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "$*: the reason is not one line"; }
  grep -qi -- "$want" err.txt || { cat err.txt; fail "$*: the reason does not mention '$want'"; }
  echo "refused: $(cat err.txt)"
}
expect_refusal "takes x of 4" "$posterior" sample --model "$model" --x 1,2 --n 5 --out w.npy
expect_refusal "first observation has 4" "$posterior" sample --model "$model" --x 1,2,3,4 \
  --x 1,2 --n 5 --out w.npy
expect_refusal "extension" "$posterior" sample --model "$model" --x 1,2,3,4 --n 5 --out w.csv
expect_refusal "--x or with --x-file" "$posterior" sample --model "$model" --n 5 --out w.npy
expect_refusal "not a number" "$posterior" sample --model "$model" --x-file "$model" --n 5 \
  --out w.npy
ls w.* 2> /dev/null && fail "a refused call left a file"
expect_refusal "not trained on SED observations" "$posterior" run --model "$model" \
  --catalog "$data/sdss/gst_tests_small.fits" --out run.fits
[ ! -e run.fits ] || fail "run.fits was written"
echo "posterior sample checks passed"
