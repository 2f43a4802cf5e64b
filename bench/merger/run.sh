#!/usr/bin/env bash
# Merger benchmark (DeepGalaxy reproduction), one run, same machine:
#  (a) backbone inference, images/s at SIZE x SIZE, batch BATCH, THREADS
#      threads: galaxyml (bench_merger_backbone: BatchNorm folded,
#      channels_last, oneDNN post-ops, InferenceMode) against torchvision
#      (eval, inference_mode; contiguous and channels_last), for ResNet-18
#      and EfficientNet-B0 with 1000-class heads, alternating rounds;
#  (b) data-parallel training throughput of `gml-merger train` at 1 .. RANKS
#      MPI ranks (one thread each, BATCH_TRAIN images per rank and step, so
#      the work per rank is fixed as in Horovod's scaling figures): images/s,
#      scaling efficiency rate(N) / (N rate(1)), and the fraction of step time
#      spent in allreduce.
#   bench/merger/run.sh [build-dir] [threads] [batch] [iters] [rounds] [ranks]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
threads="${2:-2}"
batch="${3:-32}"
iters="${4:-5}"
rounds="${5:-2}"
ranks="${6:-$(nproc)}"
size="${GML_BENCH_SIZE:-128}"
train_steps="${GML_BENCH_TRAIN_STEPS:-12}"
batch_train="${GML_BENCH_TRAIN_BATCH:-16}"
py="${GML_PYTHON:-$root/.deps/venv/bin/python}"
tmp="${TMPDIR:-/tmp}/gml_bench_merger"
mkdir -p "$tmp"
drv="$build/bin/bench_merger_backbone"
tool="$build/bin/gml-merger"
for f in "$drv" "$tool"; do
  [ -x "$f" ] || { echo "run.sh: $f not found; build first" >&2; exit 1; }
done
export GML_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"

echo "machine: $(nproc --all) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "(a) backbone inference: ${size}x${size}, batch $batch, $threads threads, $iters batches per timed block, best of 3 blocks x $rounds rounds"
for arch in resnet18 efficientnet_b0; do
  g_best=0 p_best=0 p_best_fmt=""
  for ((r = 1; r <= rounds; r++)); do
    echo "  round $r, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    g=$("$drv" "$arch" "$size" "$batch" "$threads" "$iters")
    echo "  galaxyml    $g"
    g_best=$("$py" -c "import json,sys; print(max($g_best, json.loads(sys.argv[1])['images_per_s']))" "$g")
    while read -r p; do
      echo "  torchvision $p"
      read -r p_best p_best_fmt < <("$py" -c "
import json,sys
p=json.loads(sys.argv[1]); b=float(sys.argv[2])
print(max(b, p['images_per_s']), p['format'] if p['images_per_s'] > b else sys.argv[3])" \
        "$p" "$p_best" "${p_best_fmt:-none}")
    done < <("$py" "$root/bench/merger/peer_torchvision.py" --arch "$arch" --size "$size" \
               --batch "$batch" --threads "$threads" --iters "$iters")
  done
  "$py" -c "import sys; g,p=float(sys.argv[1]),float(sys.argv[2]); print(f'  {sys.argv[3]}: galaxyml {g:.2f} images/s, torchvision best ({sys.argv[4]}) {p:.2f} images/s: {g/p:.2f}x')" \
    "$g_best" "$p_best" "$arch" "$p_best_fmt"
done

echo "(b) data-parallel training, resnet18 at 64x64, $batch_train images per rank per step, $train_steps steps, 1 thread per rank"
data="$tmp/sims_64.fits"
if [ ! -f "$data" ]; then
  "$tool" simulate --out "$data" --sims-per-ratio 2 --classes 24 --size 64 --particles 2000 --quiet
fi
mpirun=$(command -v mpirun || true)
declare -A rate
for ((n = 1; n <= ranks; n *= 2)); do
  rep="$tmp/report_np$n.json"
  rm -f "$rep"
  common=(train --overwrite --data "$data" --model "$tmp/model_np$n.h5" --backbone resnet18 --batch "$batch_train"
          --max-steps "$train_steps" --epochs 1000 --validation-cameras 13 --threads 1 --quiet
          --report "$rep")
  echo "  $n rank(s), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$n" = 1 ]; then
    GML_NUM_THREADS=1 OMP_NUM_THREADS=1 "$tool" "${common[@]}" --backend none
  else
    [ -n "$mpirun" ] || { echo "  no mpirun: skipped"; break; }
    OMPI_MCA_btl=self,vader GML_NUM_THREADS=1 OMP_NUM_THREADS=1 \
      "$mpirun" --allow-run-as-root --oversubscribe -np "$n" "$tool" "${common[@]}" --backend mpi
  fi
  "$py" - "$rep" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
print(f"  np={n}: {r['images_per_s']:.1f} images/s, step {r['step_seconds']*1000:.0f} ms, "
      f"allreduce {r['allreduce_seconds']*1000:.1f} ms/step ({100*r['allreduce_seconds']/r['step_seconds']:.1f}%), "
      f"waiting for the slowest rank {r['wait_seconds']*1000:.1f} ms/step ({100*r['wait_fraction']:.1f}%), "
      f"{r['buckets_per_step']} allreduce calls per step")
PY
  rate[$n]=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['images_per_s'])" "$rep")
done
for n in "${!rate[@]}"; do
  "$py" -c "import sys; n=int(sys.argv[1]); r=float(sys.argv[2]); r1=float(sys.argv[3]); print(f'  efficiency at {n} rank(s): {r/(n*r1):.3f}')" \
    "$n" "${rate[$n]}" "${rate[1]}"
done | sort
