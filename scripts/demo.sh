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
"$BIN/gml-flow" simulate --overwrite --galaxies 24 --stars 2500 --seed 7 --out "$OUT/galaxies.h5"
"$BIN/gml-flow" train --overwrite --stars "$OUT/galaxies.h5" --out "$OUT/flow_model.h5" --seed 7 \
  --steps "${GML_DEMO_FLOW_STEPS:-600}" --lr 2e-3 --batch 512 --eval-every 100 \
  --validation-galaxies 3 \
  --config '{"num_blocks":6,"hidden_width":64,"hidden_layers":2}'
"$BIN/gml-flow" sample --overwrite --model "$OUT/flow_model.h5" --conditions 10.9,6.5,2.2,0.016 \
  --n 50000 --seed 11 --out "$OUT/flow_samples.fits"
"$BIN/gml-flow" evaluate --model "$OUT/flow_model.h5" --stars "$OUT/galaxies.h5" \
  --galaxy 5 --n 4000 --out-dir "$OUT/flow_eval"

step "Posterior (SEDflow): SED simulations -> MAF -> posteriors of 10,000 real SDSS galaxies"
"$BIN/gml-posterior" simulate --overwrite --out "$OUT/sed_sims.h5" --n 100000 --seed 1
"$BIN/gml-posterior" simulate --overwrite --out "$OUT/sed_held_out.h5" --n 2000 --seed 2
"$BIN/gml-posterior" train --overwrite --sims "$OUT/sed_sims.h5" --out "$OUT/posterior_model.h5" --seed 1 \
  --blocks 8 --hidden 128 --batch 256 --lr 1e-3 --patience 5 --lr-plateau 2 \
  --max-epochs "${GML_DEMO_POSTERIOR_EPOCHS:-30}"
"$BIN/gml-posterior" run --overwrite --model "$OUT/posterior_model.h5" \
  --catalog data/sdss/gst_tests_small.fits --n-samples 1000 --seed 3 \
  --out "$OUT/sdss_posteriors.fits"
"$BIN/gml-posterior" diagnose --model "$OUT/posterior_model.h5" --sims "$OUT/sed_held_out.h5" \
  --n-sims 500 --n-samples 500 --out-dir "$OUT/posterior_diagnostics"

step "Merger (DeepGalaxy): N-body merger images -> CNN + VAE -> stages of real SDSS sources, search"
# 1.5 Gyr in a 64 kpc field: every orbit coalesces at 0.4-1.3 Gyr, so few
# snapshots show a relaxed remnant (docs/merger.md, Status).
"$BIN/gml-merger" simulate --overwrite --out "$OUT/mergers.fits" --sims-per-ratio 2 --classes 24 --size 64 \
  --fov 64 --t-end 1500 --particles 2000 --seed 5 --png "$OUT/merger_montage.png"
"$BIN/gml-merger" train --overwrite --data "$OUT/mergers.fits" --model "$OUT/merger_model.h5" --seed 5 \
  --backbone resnet18 --batch 32 --epochs "${GML_DEMO_MERGER_EPOCHS:-3}" \
  --validation-cameras 12,13 --backend none --png "$OUT/merger_training.png"
"$BIN/gml-merger" index --overwrite --model "$OUT/merger_model.h5" --images "$OUT/mergers.fits" \
  --out "$OUT/merger_index.h5"
# The galaxies of the SDSS field (the catalog's star/galaxy column): real
# galaxies are unlike the simulated images, which FLAGS bit 16 and the PNG's
# "unlike training" say instead of a confident stage.
"$BIN/gml-merger" classify --overwrite --model "$OUT/merger_model.h5" --image data/images/sdss_r.fits.gz \
  --catalog data/images/sdss_field_sources.fits --select GALAXY --size 64 --resize \
  --index "$OUT/merger_index.h5" --out "$OUT/sdss_merger_stages.fits" --png "$OUT/sdss_merger_stamps.png"
"$BIN/gml-merger" search --overwrite --model "$OUT/merger_model.h5" --index "$OUT/merger_index.h5" \
  --query "$OUT/mergers.fits" --row 1000 --k 6 --images "$OUT/mergers.fits" \
  --out "$OUT/merger_neighbours.png"
# Real HST images of interacting galaxies (256 px, resampled to the model's
# 64 on request): stages with the latent distance to the nearest simulated
# image (NN_DISTANCE), and the simulated images nearest to the Mice.
"$BIN/gml-merger" classify --overwrite --model "$OUT/merger_model.h5" \
  --cutouts data/mergers/hst_mergers.fits.gz --resize --index "$OUT/merger_index.h5" \
  --out "$OUT/hst_merger_stages.fits" --png "$OUT/hst_merger_stages.png"
"$BIN/gml-merger" search --overwrite --model "$OUT/merger_model.h5" --index "$OUT/merger_index.h5" \
  --query data/mergers/hst_mergers.fits.gz --row 11 --resize --k 6 --images "$OUT/mergers.fits" \
  --out "$OUT/hst_mice_neighbours.png"
"$BIN/gml-merger" cluster --overwrite --index "$OUT/merger_index.h5" --clusters 6 --images "$OUT/mergers.fits" \
  --out "$OUT/merger_clusters.fits" --png "$OUT/merger_clusters.png"

step "Synthesis (GalaxySD): a captioned training set of procedural g/r/i galaxies"
# Survey-like cutouts in nanomaggies with Galaxy Zoo 2 style captions: the
# data a text-conditioned model trains on (docs/synthesis.md).
"$BIN/gml-synth" procedural --overwrite --n 480 --seed 5 --out "$OUT/procedural_galaxies.fits" \
  --png "$OUT/procedural_galaxies.png"

step "Outputs in $OUT"
ls -l "$OUT" "$OUT/flow_eval" "$OUT/posterior_diagnostics"
