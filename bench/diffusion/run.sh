#!/usr/bin/env bash
# Diffusion benchmark: text-to-image with a Stable Diffusion 1.x pipeline,
# galaxyml (bench_diffusion, C ABI) against diffusers' StableDiffusionPipeline
# (peer_diffusers.py, float32 on the CPU), in one run, on the same machine,
# thread count and random-weight pipeline folder (make_pipeline.py). Per
# image size: seconds per guided Euler-ancestral denoising step, one prompt
# encode, the VAE decode with per-call overhead, load time and peak RSS, each
# engine in its own process (so the peak RSS is its own), galaxyml first.
#   bench/diffusion/run.sh [build-dir] [config] [sizes] [threads] [repeats]
# config: galaxy64 (default; small, for 64 x 64 galaxy images) or sd15 (SD-1.5's
# architecture: about 4.3 GB of weights, several GB of memory per engine).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
config="${2:-galaxy64}"
sizes="${3:-64}"
threads="${4:-2}"
repeats="${5:-3}"
py="${GML_PYTHON:-$root/.deps/venv/bin/python}"
tmp="${TMPDIR:-/tmp}/gml_bench_diffusion"
mkdir -p "$tmp"
export GML_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"

# Steps per call: a step costs the same whatever the count, so two counts
# separate it from what a call does once. sd15's steps are seconds each.
case "$config" in
  galaxy64) steps_a=2 steps_b=6 ;;
  sd15) steps_a=1 steps_b=3 ;;
  *) echo "run.sh: unknown config '$config' (galaxy64, sd15)" >&2; exit 2 ;;
esac

drv="$build/bin/bench_diffusion"
if [ ! -x "$drv" ]; then
  lib="$build/lib/libgalaxyml.so"
  [ -f "$lib" ] || { echo "run.sh: neither $drv nor $lib found; build first" >&2; exit 1; }
  c++ -O2 -std=c++17 -I"$root/capi/include" "$root/bench/diffusion/bench_diffusion.cpp" \
    -L"$build/lib" -lgalaxyml -Wl,-rpath,"$build/lib" -o "$tmp/bench_diffusion"
  drv="$tmp/bench_diffusion"
fi

model="$tmp/$config"
"$py" "$root/bench/diffusion/make_pipeline.py" "$config" "$model"

echo "machine: $(nproc --all) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "config $config; sizes $sizes; threads: $threads; Euler a, guidance 7.5, batch 1;" \
     "steps $steps_a and $steps_b per call; medians of $repeats"
summary=()
for size in $sizes; do
  echo "size $size, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  g=$("$drv" "$model" "$size" "$steps_a" "$steps_b" "$threads" "$repeats")
  echo "  $g"
  echo "size $size, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  p=$("$py" "$root/bench/diffusion/peer_diffusers.py" "$model" "$size" "$steps_a" "$steps_b" \
        "$threads" "$repeats")
  echo "  $p"
  line=$("$py" - "$g" "$p" <<'PY'
import json, sys
g, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{g['size']}: {g['step_s']:.3g}/{p['step_s']:.3g} ({p['step_s'] / g['step_s']:.2f}x)")
print(f"  size {g['size']}: galaxyml vs diffusers: step {g['step_s']:.4f} s vs {p['step_s']:.4f} s"
      f" ({p['step_s'] / g['step_s']:.2f}x), encode {g['encode_s']:.4f} s vs {p['encode_s']:.4f} s,"
      f" decode+overhead {g['decode_s']:.4f} s vs {p['decode_s']:.4f} s,"
      f" load {g['load_s']:.2f} s vs {p['load_s']:.2f} s,"
      f" peak RSS {g['peak_rss_mb']:.0f} MB vs {p['peak_rss_mb']:.0f} MB")
PY
  )
  summary+=("$(head -n 1 <<<"$line")")
  tail -n +2 <<<"$line"
done
# Last line: the headline bench/run_all.sh puts in its table (first 100
# characters), every size's step seconds and galaxyml's speed-up.
echo "$config, threads $threads, s/step galaxyml/diffusers: $(IFS=';'; echo "${summary[*]}" | sed 's/;/; /g')"
