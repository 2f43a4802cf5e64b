#!/usr/bin/env bash
# Flow benchmark: sampling and log_prob of 1,000,000 stars (10-D) with the
# paper-size GalacticFlow model (14 blocks, K=10, B=3, 128x3 MLPs), galaxyml
# (C ABI) vs a plain-PyTorch peer with the same weights, in one run, on the
# same machine and thread count.
#   bench/flow/run.sh [build-dir] [threads] [n] [repeats]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
threads="${2:-2}"
n="${3:-1000000}"
repeats="${4:-2}"
py="${GML_PYTHON:-$root/.deps/venv/bin/python}"
tmp="${TMPDIR:-/tmp}/gml_bench_flow"
mkdir -p "$tmp"
export GML_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"

lib="$build/lib/libgalaxyml.so"
[ -f "$lib" ] || { echo "run.sh: $lib not found; build target galaxyml first" >&2; exit 1; }
c++ -O2 -std=c++17 -I"$root/capi/include" "$root/bench/flow/bench_flow.cpp" \
  -L"$build/lib" -lgalaxyml -Wl,-rpath,"$build/lib" -o "$tmp/bench_flow"

# The driver makes the paper-size model on first use (see bench_flow.cpp).
stars="$tmp/stars.h5"
model="$tmp/model_paper.h5"

echo "machine: $(nproc --all) cores, $(uname -m); threads: $threads; n = $n stars; best of $repeats"
g=$("$tmp/bench_flow" "$model" "$stars" "$n" "$repeats" "$tmp")
echo "$g"
cond=$(echo "$g" | sed 's/.*"conditions": "\([^"]*\)".*/\1/')
p=$("$py" "$root/bench/flow/peer_flow.py" --model "$model" --conditions "$cond" \
      --threads "$threads" --n "$n" --repeat "$repeats" \
      --check "$tmp/check_stars.f32" "$tmp/check_log_prob.f64")
echo "$p"
"$py" - "$g" "$p" <<'PY'
import json, sys
g, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':12s} {'sample stars/s':>16s} {'log_prob stars/s':>18s}")
print(f"{'galaxyml':12s} {g['sample_stars_per_s']:16,.0f} {g['log_prob_stars_per_s']:18,.0f}")
print(f"{'pytorch peer':12s} {p['sample_stars_per_s']:16,.0f} {p['log_prob_stars_per_s']:18,.0f}")
print(f"{'ratio':12s} {g['sample_stars_per_s'] / p['sample_stars_per_s']:16.2f}x"
      f" {g['log_prob_stars_per_s'] / p['log_prob_stars_per_s']:17.2f}x")
print(f"peer log_prob vs galaxyml on {2000} stars: max rel err {p['check_max_rel_err']:.2e}")
PY
