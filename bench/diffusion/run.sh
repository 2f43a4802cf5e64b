#!/usr/bin/env bash
# Diffusion benchmark: text-to-image with a Stable Diffusion 1.x pipeline,
# galaxyml (bench_diffusion, C ABI) against diffusers' StableDiffusionPipeline
# (peer_diffusers.py, float32 on the CPU), in one run, on the same machine,
# thread count and random-weight pipeline folder (make_pipeline.py). Per
# image size: seconds per guided Euler-ancestral denoising step, one prompt
# encode, the VAE decode with per-call overhead, load time and peak RSS, each
# engine in its own process (so the peak RSS is its own), galaxyml first.
# With GML_SDCPP_CLI set to stable-diffusion.cpp's sd-cli (build_sdcpp.sh),
# its f32 and f16 runs on the same folder follow (peer_sdcpp.py; one call of
# four steps each: its own per-step timings, median of the last three).
# GML_BENCH_ROUNDS (default 1): galaxyml and diffusers alternate this many
# times per size; the summary takes each engine's medians over its rounds.
# GML_BENCH_FORMATS (e.g. "bfloat16 float32+cl"): galaxyml again in each of
# these UNet/VAE formats (bench_diffusion's FORMAT) after the peers, and
# diffusers in bfloat16 beside galaxyml's bfloat16.
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
  # Rounds alternate the engines, so a slow spell of a shared machine falls
  # on both; each engine's figures are the medians over its rounds.
  gs=() ps=()
  for ((round = 1; round <= ${GML_BENCH_ROUNDS:-1}; round++)); do
    echo "size $size, round $round, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    gs+=("$("$drv" "$model" "$size" "$steps_a" "$steps_b" "$threads" "$repeats")")
    echo "  ${gs[-1]}"
    echo "size $size, round $round, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    ps+=("$("$py" "$root/bench/diffusion/peer_diffusers.py" "$model" "$size" "$steps_a" "$steps_b" \
            "$threads" "$repeats")")
    echo "  ${ps[-1]}"
  done
  line=$("$py" - "${#gs[@]}" "${gs[@]}" "${ps[@]}" <<'PY'
import json, statistics, sys
n = int(sys.argv[1])
runs = [json.loads(a) for a in sys.argv[2:]]
def med(rs):
    return {k: statistics.median(r[k] for r in rs) for k in
            ("size", "step_s", "encode_s", "decode_s", "load_s", "peak_rss_mb")}
g, p = med(runs[:n]), med(runs[n:])
g["size"] = p["size"] = runs[0]["size"]
print(f"{g['size']}: {g['step_s']:.3g}/{p['step_s']:.3g} ({p['step_s'] / g['step_s']:.2f}x)")
print(f"  size {g['size']}, medians of {n} round(s): galaxyml vs diffusers:"
      f" step {g['step_s']:.4f} s vs {p['step_s']:.4f} s"
      f" ({p['step_s'] / g['step_s']:.2f}x), encode {g['encode_s']:.4f} s vs {p['encode_s']:.4f} s,"
      f" decode+overhead {g['decode_s']:.4f} s vs {p['decode_s']:.4f} s,"
      f" load {g['load_s']:.2f} s vs {p['load_s']:.2f} s,"
      f" peak RSS {g['peak_rss_mb']:.0f} MB vs {p['peak_rss_mb']:.0f} MB")
PY
  )
  summary+=("$(head -n 1 <<<"$line")")
  tail -n +2 <<<"$line"
  if [ -n "${GML_SDCPP_CLI:-}" ]; then
    for wtype in f32 f16; do
      echo "size $size, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
      echo "  $("$py" "$root/bench/diffusion/peer_sdcpp.py" "$GML_SDCPP_CLI" "$model" "$size" 4 \
                 "$threads" "$wtype")"
    done
  fi
  for format in ${GML_BENCH_FORMATS:-}; do
    echo "size $size, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "  $("$drv" "$model" "$size" "$steps_a" "$steps_b" "$threads" "$repeats" "$format")"
    if [ "$format" = bfloat16 ]; then
      echo "size $size, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
      echo "  $("$py" "$root/bench/diffusion/peer_diffusers.py" "$model" "$size" "$steps_a" \
                 "$steps_b" "$threads" "$repeats" bfloat16)"
    fi
  done
done
# Last line: the headline bench/run_all.sh puts in its table (first 100
# characters), every size's step seconds and galaxyml's speed-up.
echo "$config, threads $threads, s/step galaxyml/diffusers: $(IFS=';'; echo "${summary[*]}" | sed 's/;/; /g')"
