#!/usr/bin/env bash
# gml-merger end to end on tiny inputs: simulate, train, classify (a
# simulator cube, and stamps cut from the real SDSS r image around the
# sources of data/images/sdss_field_sources.fits; the real HST images of
# data/mergers/), index, search and
# cluster; tables checked with tool_table_check (C API, no Python), PNGs by
# their signature; and the failures a user meets first (wrong band count,
# wrong stamp size) give a non-zero exit and a one-line reason.
#   tool_smoke.sh GML_MERGER TOOL_TABLE_CHECK DATA_DIR WORKDIR
set -euo pipefail
tool="$1"; check="$2"; data="$3"; work="$4"
# shellcheck source=../support/tool_test.sh
source "$(dirname "$0")/../support/tool_test.sh"
enter_workdir "$work"
# Runs the tool expecting failure: $1 = text the reason must contain.
expect_failure() {
  local want="$1"; shift
  if "$tool" "$@" > out.txt 2> err.txt; then fail "gml-merger $* succeeded"; fi
  [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "the reason is not one line"; }
  grep -qi -- "$want" err.txt || { cat err.txt; fail "the reason does not mention '$want'"; }
  echo "expected failure: $(cat err.txt)"
}
sdss_r="$data/images/sdss_r.fits.gz"
sources="$data/images/sdss_field_sources.fits"

for cmd in simulate train classify index search cluster; do
  "$tool" "$cmd" --help | grep -q -- "--seed" || fail "$cmd --help lacks the common options"
done
"$tool" --help | grep -q cluster || fail "--help lacks the commands"
expect_failure "unknown command" frobnicate

# 2 ratios x 1 orbit x 8 classes x 4 cameras = 64 images of 32 x 32.
"$tool" simulate --out sims.fits --ratios 0.5,1 --sims-per-ratio 1 --classes 8 --cameras 4 \
  --size 32 --particles 300 --t-end 800 --dt 2 --seed 5 --png montage.png -q
"$check" sims.fits LABELS 64 TIME_CLASS=0:7 CAMERA=0:3 SIM_ID=0:1
is_png montage.png

"$tool" train --data sims.fits --model m.h5 --backbone resnet18 --latent 8 --batch 8 \
  --epochs 2 --max-steps 6 --validation-cameras 3 --seed 5 --backend none \
  --png curves.png --report report.json -q > train.txt
cat train.txt
grep -q "world size 1" train.txt || fail "train did not print the report"
grep -q "48 training and 16 validation images" train.txt || fail "camera 3 is not the validation set"
[ -s m.h5 ] || fail "no model file"
is_png curves.png
for key in epochs steps best_epoch train_images validation_images world_size stopped_early \
    validation_loss validation_accuracy validation_within3 validation_time_mae_myr \
    images_per_s step_seconds allreduce_seconds allreduce_calls buckets_per_step \
    allreduce_fraction wait_seconds wait_fraction lr_schedule; do
  grep -q "\"$key\"" report.json || fail "report.json lacks $key"
done

# Every image of the simulator file; its labels come along.
"$tool" classify --model m.h5 --cutouts sims.fits --out cube.fits --png stamps.png -q
"$check" cube.fits MERGER 64 ID=0:63 CLASS=0:7 PROB=0:1 FLAGS=0:0 LATENT TRUE_CLASS=0:7 \
  TIME/Myr RA/deg DEC/deg TRUE_TIME/Myr
is_png stamps.png

# Stamps of 32 pixels from the real r image; sources near the border give
# partial stamps (flagged, still classified).
"$tool" classify --model m.h5 --image "$sdss_r" --catalog "$sources" --size 32 \
  --out sdss.fits --png sdss.png -q
"$check" sdss.fits MERGER 30 ID=0:29 CLASS=0:7 PROB=0:1 RA=313:314 DEC=-6:-5 LATENT \
  "FLAGS@256:511>=1"
is_png sdss.png
# The catalog's star/galaxy column keeps the six galaxies (rows 1-29), with
# their catalog rows as IDs; a column the catalog lacks is a one-line error.
"$tool" classify --model m.h5 --image "$sdss_r" --catalog "$sources" --size 32 \
  --select GALAXY --out galaxies.fits -q
"$check" galaxies.fits MERGER 6 ID=1:29 CLASS=0:7 PROB=0:1
expect_failure "NO_SUCH_COLUMN" classify --model m.h5 --image "$sdss_r" --catalog "$sources" \
  --size 32 --select NO_SUCH_COLUMN --out bad.fits
[ ! -e bad.fits ] || fail "a failed classify left bad.fits"

expect_failure "band" classify --model m.h5 --image "$data/images/sdss_g.fits.gz,$sdss_r" \
  --catalog "$sources" --size 32 --out bad.fits
[ ! -e bad.fits ] || fail "a failed classify left bad.fits"
expect_failure "resize" classify --model m.h5 --image "$sdss_r" --catalog "$sources" \
  --size 48 --out bad.fits
expect_failure "no-such-model" classify --model no-such-model.h5 --cutouts sims.fits \
  --out bad.fits
# With --resize, 48-pixel stamps are resampled to the model's 32 (flag 2).
"$tool" classify --model m.h5 --image "$sdss_r" --catalog "$sources" --size 48 --resize \
  --out resized.fits -q
"$check" resized.fits MERGER 30 CLASS=0:7 "FLAGS@2:3>=1"

# The real HST merger images: a 3-D cube (12 x 256 x 256) read as one band;
# another size than the model's is refused unless resampling is asked for.
hst="$data/mergers/hst_mergers.fits.gz"
expect_failure "resize" classify --model m.h5 --cutouts "$hst" --out bad.fits
[ ! -e bad.fits ] || fail "a failed classify left bad.fits"
"$tool" classify --model m.h5 --cutouts "$hst" --resize --out hst.fits -q
# Resampled (2); the bounded time head never leaves the span (no 8).
"$check" hst.fits MERGER 12 ID=0:11 CLASS=0:7 PROB=0:1 FLAGS=2:2 LATENT TIME=0:800

"$tool" index --model m.h5 --images sims.fits --out index.h5 -q > index.txt
grep -q "indexed 64 images" index.txt || { cat index.txt; fail "index"; }

# With the index, every row gets its nearest indexed image: a simulated image
# finds itself (distance ~0, so never flagged 16 as unlike the index); the
# HST images get some distance.
"$tool" classify --model m.h5 --cutouts sims.fits --index index.h5 --out nn.fits -q
"$check" nn.fits MERGER 64 NN_ID=0:63 NN_DISTANCE=0:0.05 FLAGS=0:0
"$tool" classify --model m.h5 --cutouts "$hst" --resize --index index.h5 --out hst_nn.fits -q
"$check" hst_nn.fits MERGER 12 NN_ID=0:63 NN_DISTANCE=0:1e30
expect_failure "no-such-index" classify --model m.h5 --cutouts sims.fits \
  --index no-such-index.h5 --out bad.fits
[ ! -e bad.fits ] || fail "a failed classify left bad.fits"

"$tool" search --model m.h5 --index index.h5 --query sims.fits --row 5 --k 4 \
  --images sims.fits --out neighbours.png --table neighbours.fits -q > search.txt
cat search.txt
is_png neighbours.png
"$check" neighbours.fits NEIGHBOURS 4 QUERY=5:5 RANK=1:4 ID=0:63 SSIM=-1:1 TIME_CLASS=0:7
# The query is an indexed image: it finds itself first.
grep -q "  1. id 5 " search.txt || fail "image 5 is not its own nearest neighbour"
"$tool" search --model m.h5 --index index.h5 --query sims.fits --row -1 --k 3 \
  --out all.png --table all.fits -q > /dev/null
"$check" all.fits NEIGHBOURS 192 QUERY=0:63 RANK=1:3
is_png all.png
expect_failure "exceeds" search --model m.h5 --index index.h5 --query sims.fits --k 65 \
  --out x.png

"$tool" cluster --index index.h5 --clusters 3 --neighbours 5 --images sims.fits \
  --out clusters.fits --png clusters.png -q > cluster.txt
cat cluster.txt
"$check" clusters.fits CLUSTERS 64 ID=0:63 CLUSTER=0:2 TIME_CLASS=0:7
is_png clusters.png

echo "gml-merger tool smoke test: all steps passed"
