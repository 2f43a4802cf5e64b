#!/usr/bin/env bash
# The galaxyml demo: real jobs through the C ABI on the data shipped in data/.
#   scripts/demo.sh BUILD_DIR OUT_DIR      (what `make demo` runs)
set -euo pipefail
BUILD="${1:-build}"
OUT="${2:-out/demo}"
BIN="$BUILD/bin"
mkdir -p "$OUT"
export GML_NUM_THREADS="${GML_NUM_THREADS:-$(nproc)}"

step() { printf '\n== %s\n' "$*"; }

if [ -x "$BIN/gml-dlopen-host" ]; then
  step "Cutouts: SDSS g/r/i stamps with WCS, through a C99 host that dlopen()s libgalaxyml"
  "$BIN/gml-dlopen-host" --lib "$BUILD/lib/libgalaxyml.so" --data data --out "$OUT/sdss_stamps.fits" --n 32
fi

step "Flow (GalacticFlow): synthetic galaxies -> conditional flow -> new stars"
"$BIN/gml-flow" simulate --galaxies 24 --stars 2500 --seed 7 --out "$OUT/galaxies.h5"
"$BIN/gml-flow" train --stars "$OUT/galaxies.h5" --out "$OUT/flow_model.h5" --seed 7 \
  --steps "${GML_DEMO_FLOW_STEPS:-600}" --lr 2e-3 --batch 512 --eval-every 100 \
  --validation-galaxies 3 \
  --config '{"num_blocks":6,"hidden_width":64,"hidden_layers":2}'
"$BIN/gml-flow" sample --model "$OUT/flow_model.h5" --conditions 10.9,6.5,2.2,0.016 \
  --n 50000 --seed 11 --out "$OUT/flow_samples.fits"
"$BIN/gml-flow" evaluate --model "$OUT/flow_model.h5" --stars "$OUT/galaxies.h5" \
  --galaxy 5 --n 4000 --out-dir "$OUT/flow_eval"

step "Outputs in $OUT"
ls -l "$OUT" "$OUT/flow_eval"
