#!/usr/bin/env bash
# Threads under contention: the demo's three small-model workloads (posterior
# training, flow training, flow sampling) with 1 and 2 threads, alone and
# beside one busy single-threaded process, for this build and, when given,
# an earlier build of the tools ("before").
#   bench/threads/run.sh [build-dir] [before-dir] [scale]
# before-dir holds bin/ and lib/ of another build (e.g. copied from a build
# of an earlier commit). scale multiplies the work (default 1: a minute or
# two per build on 2 cores, several where the old build meets a busy CPU).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
before="${2:-}"
scale="${3:-1}"
tmp="${TMPDIR:-/tmp}/gml_bench_threads"
mkdir -p "$tmp"
unset OMP_NUM_THREADS MKL_NUM_THREADS GML_NUM_THREADS

now() { date +%s.%N; }
busy_pid=""
start_busy() { bash -c 'while :; do :; done' & busy_pid=$!; sleep 0.5; }
stop_busy() { [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null && wait "$busy_pid" 2>/dev/null || true; busy_pid=""; }
trap stop_busy EXIT

rows=$((10000 * scale))
steps=$((30 * scale))
samples=$((300000 * scale))

# Inputs, made once with this build.
bin="$build/bin"
[ -f "$tmp/sims.h5" ] || "$bin/gml-posterior" simulate -q --overwrite --out "$tmp/sims.h5" --n 40000 --seed 1
[ -f "$tmp/stars.h5" ] || "$bin/gml-flow" simulate -q --overwrite --galaxies 24 --stars 2500 --seed 7 --out "$tmp/stars.h5"
flow_config='{"num_blocks":6,"hidden_width":64,"hidden_layers":2}'
[ -f "$tmp/flow.h5" ] || "$bin/gml-flow" train -q --overwrite --stars "$tmp/stars.h5" --out "$tmp/flow.h5" \
  --seed 7 --steps 20 --batch 512 --validation-galaxies 3 --config "$flow_config"

# One workload; prints its rate in units per second.
run() {  # dir threads workload
  local dir=$1 threads=$2 what=$3 t0 t1 units
  local env=(env LD_LIBRARY_PATH="$dir/lib" GML_NUM_THREADS="$threads")
  [ "$threads" = default ] && env=(env LD_LIBRARY_PATH="$dir/lib")
  t0=$(now)
  case $what in
    posterior_train)  # the demo's settings; one epoch over 90% of the rows
      "${env[@]}" "$dir/bin/gml-posterior" train -q --overwrite --sims "$tmp/sims.h5" \
        --out "$tmp/p.h5" --seed 1 --blocks 8 --hidden 128 --batch 256 --max-epochs 1 \
        --max-rows "$rows" --patience 100 >/dev/null
      units=$((rows * 9 / 10 / 256)) ;;
    flow_train)
      "${env[@]}" "$dir/bin/gml-flow" train -q --overwrite --stars "$tmp/stars.h5" --out "$tmp/f.h5" \
        --seed 7 --steps "$steps" --batch 512 --eval-every 100000 --validation-galaxies 3 \
        --config "$flow_config" >/dev/null
      units=$steps ;;
    flow_sample)
      "${env[@]}" "$dir/bin/gml-flow" sample -q --overwrite --model "$tmp/flow.h5" \
        --conditions 10.9,6.5,2.2,0.016 --n "$samples" --seed 11 --out "$tmp/s.fits" >/dev/null
      units=$samples ;;
  esac
  t1=$(now)
  python3 -c "print(f'{$units / ($t1 - $t0):.4g}')"
}

echo "machine: $(nproc) CPUs usable ($(nproc --all) online), $(uname -m); scale $scale"
echo "rates: posterior_train and flow_train in batches/s, flow_sample in stars/s"
printf '%-8s %-8s %-6s %16s %16s %16s\n' build threads load posterior_train flow_train flow_sample
builds=("after:$build")
[ -n "$before" ] && builds=("before:$before" "${builds[@]}")
for entry in "${builds[@]}"; do
  name=${entry%%:*} dir=${entry#*:}
  for threads in 1 2 default; do
    for load in alone busy; do
      [ "$load" = busy ] && start_busy
      row=()
      for what in posterior_train flow_train flow_sample; do row+=("$(run "$dir" "$threads" "$what")"); done
      stop_busy
      printf '%-8s %-8s %-6s %16s %16s %16s\n' "$name" "$threads" "$load" "${row[@]}"
    done
  done
done
