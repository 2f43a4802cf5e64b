#!/usr/bin/env bash
# gml-posterior import: the simulation files of tests/golden/posterior/import
# become training sets that `train` reads; dropped and out-of-prior rows are
# reported even with --quiet; a source with several problems gets them all
# in one error and leaves no file.
#   posterior_import.sh GML_POSTERIOR IMPORT_DIR WORKDIR
set -euo pipefail
posterior="$1"; src="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export GML_NUM_THREADS="${GML_NUM_THREADS:-1}"
fail() { echo "FAIL: $*"; exit 1; }

"$posterior" import --sims "$src/sims.csv" --theta mass,age --x '*' --prior-lower 0,-1 \
  --prior-upper 5,10 --out csv.h5 -q --device cpu 2> warnings.txt
grep -q "dropped 1 of 40 rows" warnings.txt || { cat warnings.txt; fail "no dropped-row warning"; }
grep -q "20 of 39 rows have theta outside the prior" warnings.txt ||
  { cat warnings.txt; fail "no out-of-prior warning"; }
"$posterior" import --sims "$src/theta.npy" --x-sims "$src/x.npy" --out npy.h5 --device cpu \
  2> npy.txt
grep -q "wrote npy.h5: 39 rows of theta \[2\] and x \[3\]" npy.txt || { cat npy.txt; fail "npy"; }
"$posterior" train --sims csv.h5 --blocks 1 --hidden 8 --max-epochs 2 --batch 8 --out model.h5 \
  -q --device cpu
[ -s model.h5 ] || fail "no model trained on the imported set"

if "$posterior" import --sims "$src/sims.h5" --theta params --x obs --out bad.h5 \
    --device cpu 2> err.txt; then
  fail "an import of missing datasets succeeded"
fi
grep -q "no dataset 'params'" err.txt && grep -q "no dataset 'obs'" err.txt ||
  { cat err.txt; fail "the error does not list both missing datasets"; }
grep -q "Bring your own simulations" err.txt || { cat err.txt; fail "no pointer to the docs"; }
if "$posterior" import --sims "$src/sims.csv" --theta mass --x f1 --reject-nonfinite \
    --out nan.h5 --device cpu 2> err.txt; then
  fail "--reject-nonfinite accepted a NaN row"
fi
grep -q "the first is row 7" err.txt || { cat err.txt; fail "the NaN row is not named"; }
ls bad.h5 nan.h5 2> /dev/null && fail "a refused import left a file"
echo "OK: gml-posterior import"
