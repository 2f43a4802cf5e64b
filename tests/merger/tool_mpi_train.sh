#!/usr/bin/env bash
# gml-merger train under mpirun -np 2: both ranks train together (world
# size 2 in the report), only rank 0 prints the report and writes the model,
# PNG and JSON (once each); a failing call exits non-zero without hanging.
#   tool_mpi_train.sh MPIRUN GML_MERGER WORKDIR
set -euo pipefail
mpirun="$1"; tool="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 GML_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

"$tool" simulate --out sims.fits --ratios 0.5,1 --sims-per-ratio 1 --classes 8 --cameras 4 \
  --size 32 --particles 300 --t-end 800 --dt 2 --seed 5 -q
"$mpirun" --allow-run-as-root --oversubscribe -np 2 "$tool" train --data sims.fits --model m.h5 \
  --backbone resnet18 --latent 8 --batch 4 --epochs 1 --max-steps 4 --validation-cameras 3 \
  --seed 5 --backend mpi --report report.json --png curves.png > out.txt 2> err.txt ||
  { cat out.txt err.txt; fail "mpirun train failed"; }
cat out.txt
[ "$(grep -c "world size 2" out.txt)" -eq 1 ] || fail "the report is not printed once by a 2-rank run"
[ "$(grep -c "wrote model m.h5" err.txt)" -eq 1 ] || { cat err.txt; fail "the model is not written once"; }
[ -s m.h5 ] || fail "no model file"
grep -q '"world_size": 2' report.json || fail "report.json: world size is not 2"
[ -s curves.png ] || fail "no curves.png"
for f in *; do
  case "$f" in
    sims.fits | m.h5 | report.json | curves.png | out.txt | err.txt) ;;
    *) fail "unexpected file $f (a second rank wrote too, or a temporary was left)" ;;
  esac
done

# A missing data file: every rank stops with a reason, none hangs.
if timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$tool" train \
     --data missing.fits --model bad.h5 --backend mpi -q 2> fail.txt; then
  fail "training on a missing file succeeded"
fi
grep -q "missing.fits" fail.txt || { cat fail.txt; fail "no reason naming the file"; }
[ ! -e bad.h5 ] || fail "a failed run left bad.h5"
echo "gml-merger mpi train: one model, one report, world size 2; failure handled"
