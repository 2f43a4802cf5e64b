#!/usr/bin/env bash
# Every tool checks its outputs before it starts work: an output that is one
# of the inputs (directly, through a link, through "..", or behind a CFITSIO
# "[...]" suffix) is refused, as is an output in a missing folder, a folder
# given as a file, an unknown star-table extension and a thread count out of
# range. Each refusal is one line on stderr with a non-zero exit, and no
# input file changes.
#   tool_outputs.sh GML_FLOW GML_POSTERIOR GML_MERGER DATA_DIR WORKDIR
set -euo pipefail
flow="$1"; posterior="$2"; merger="$3"; data="$4"; work="$5"
rm -rf "$work"; mkdir -p "$work/sub"; cd "$work"
export GML_NUM_THREADS="${GML_NUM_THREADS:-1}"

fail() { echo "FAIL: $*"; exit 1; }
# expect_refusal TEXT TOOL ARGS...: non-zero exit, one line mentioning TEXT.
expect_refusal() {
  local want="$1"; shift
  local before; before="$(md5sum ./*.h5 ./*.fits 2>/dev/null | sort || true)"
  if "$@" > out.txt 2> err.txt; then fail "$* succeeded"; fi
  [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "$*: the reason is not one line"; }
  grep -qi -- "$want" err.txt || { cat err.txt; fail "$*: the reason does not mention '$want'"; }
  [ "$before" = "$(md5sum ./*.h5 ./*.fits 2>/dev/null | sort || true)" ] || fail "$*: an input changed"
  echo "refused: $(cat err.txt)"
}

"$flow" simulate --galaxies 2 --stars 100 --seed 3 --out stars.h5 -q
cp "$data/sdss/gst_tests_small.fits" catalog.fits
ln -s stars.h5 link.h5

# Output equal to an input: the same name, a link, a path through "..".
expect_refusal "also an input" "$flow" sample --model stars.h5 --conditions 10.8,7,2.5,0.014 \
  --n 10 --out stars.h5
expect_refusal "also an input" "$flow" train --stars stars.h5 --out link.h5 --steps 1
expect_refusal "also an input" "$flow" train --stars stars.h5 --out sub/../stars.h5 --steps 1
expect_refusal "also an input" "$flow" train --stars stars.h5 --out model.h5 \
  --checkpoint "$work/stars.h5" --steps 1
expect_refusal "also an input" "$posterior" train --sims stars.h5 --out stars.h5
expect_refusal "also an input" "$posterior" run --model stars.h5 --catalog "catalog.fits[1]" \
  --out catalog.fits
expect_refusal "also an input" "$posterior" run --model stars.h5 --catalog catalog.fits \
  --out post.fits --samples stars.h5
expect_refusal "also an input" "$merger" classify --model stars.h5 --image catalog.fits,x.fits \
  --catalog stars.h5 --out catalog.fits
expect_refusal "also an input" "$merger" index --model stars.h5 --images catalog.fits \
  --out ./catalog.fits
expect_refusal "also an input" "$merger" cluster --index stars.h5 --out link.h5
[ -L link.h5 ] || fail "the link was replaced"

# Outputs that cannot be written are refused before any work: the plot of
# a catalog run used to abort the tool after its table was written.
expect_refusal "does not exist" "$flow" simulate --galaxies 1 --stars 10 --out no/such/s.h5
expect_refusal "--plot" "$posterior" run --model stars.h5 --catalog catalog.fits \
  --out post.fits --plot no/such/post.png
[ ! -e post.fits ] || fail "post.fits was written although its plot cannot be"
expect_refusal "is a folder" "$flow" simulate --galaxies 1 --stars 10 --out sub
expect_refusal "--out-dir" "$flow" evaluate --model stars.h5 --stars stars.h5 \
  --out-dir stars.h5/eval
expect_refusal "--out-dir" "$posterior" diagnose --model stars.h5 --sims stars.h5 \
  --out-dir catalog.fits/diag
expect_refusal "does not exist" "$merger" simulate --out no/such/m.fits

# Unknown star-table extension, and thread counts out of range.
expect_refusal "unknown extension" "$flow" simulate --galaxies 1 --stars 10 --out stars.csv
[ ! -e stars.csv ] || fail "stars.csv was written"
expect_refusal "1024" "$flow" simulate --galaxies 1 --stars 10 --out t.h5 --threads 100000
expect_refusal "1024" "$posterior" simulate --n 10 --out t.h5 --threads -2
[ ! -e t.h5 ] || fail "t.h5 was written"

# An existing output is replaced only with --overwrite (astropy's
# overwrite=True, CFITSIO's "!"); --resume appends to its own output.
"$flow" simulate --galaxies 1 --stars 50 --seed 1 --out again.h5 -q
expect_refusal "pass --overwrite" "$flow" simulate --galaxies 1 --stars 50 --seed 2 --out again.h5
before="$(md5sum < again.h5)"
"$flow" simulate --galaxies 1 --stars 50 --seed 2 --out again.h5 -q --overwrite
[ "$before" != "$(md5sum < again.h5)" ] || fail "--overwrite did not replace again.h5"
"$posterior" simulate --n 20 --batch 10 --out sims.h5 -q
expect_refusal "pass --overwrite" "$posterior" simulate --n 40 --batch 10 --out sims.h5
"$posterior" simulate --n 40 --batch 10 --out sims.h5 -q --resume

# The checks do not refuse what is allowed: a new file next to the inputs.
"$flow" sample --model stars.h5 --conditions 10.8,7,2.5,0.014 --n 10 --out s.fits -q 2> err.txt &&
  fail "sampling from a star table as a model succeeded"
grep -q "also an input" err.txt && fail "a distinct output was refused: $(cat err.txt)"
echo "tool output checks passed"
