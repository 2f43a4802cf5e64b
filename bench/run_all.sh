#!/usr/bin/env bash
# make bench: every benchmark of bench/, each side by side with its Python
# peer in one run (see each run.sh), then one summary table. Logs go to
# out/bench/<name>.log; the figures of bench/RESULTS.md come from them.
#   bench/run_all.sh [build-dir] [quick]
# "quick" runs smaller sizes (minutes, not an hour): a check that every
# benchmark still runs, not figures to publish. GML_BENCH_ONLY="flow merger"
# runs a subset. GML_BENCH_BEFORE=DIR (bin/ and lib/ of an earlier build)
# adds the "before" rows of the threads benchmark.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
quick="${2:-}"
out="$root/out/bench"
mkdir -p "$out"

names=() commands=()
add() { names+=("$1"); commands+=("$2"); }
if [ "$quick" = quick ]; then
  add catalog "bench/catalog/run.sh $build 100000 2"
  add cutout "bench/cutout/run.sh $build"
  add flow "bench/flow/run.sh $build 2 65536 1"
  add posterior "bench/posterior/run.sh $build 2 100 1000 1 2 1"
  add merger "GML_BENCH_SIZE=64 GML_BENCH_TRAIN_STEPS=3 bench/merger/run.sh $build 2 32 1 1"
  add threads "bench/threads/run.sh $build '${GML_BENCH_BEFORE:-}' 1"
  add diffusion "bench/diffusion/run.sh $build galaxy64 64 2 1"
else
  add catalog "bench/catalog/run.sh $build 1000000 10"
  add cutout "bench/cutout/run.sh $build"
  add flow "bench/flow/run.sh $build 2 1000000 1"
  add posterior "bench/posterior/run.sh $build 2 1000 1000 3 10 5"
  add merger "bench/merger/run.sh $build 2 32 5 3"
  add threads "bench/threads/run.sh $build '${GML_BENCH_BEFORE:-}' 1"
  add diffusion "GML_BENCH_ROUNDS=2 GML_BENCH_FORMATS=bfloat16 bench/diffusion/run.sh $build galaxy64 64 2 3"
  add diffusion_sd15 "GML_BENCH_ROUNDS=2 GML_BENCH_FORMATS=bfloat16 bench/diffusion/run.sh $build sd15 '424 512' 2 3"
fi

status=0
rows=()
for i in "${!names[@]}"; do
  name=${names[$i]}
  if [ -n "${GML_BENCH_ONLY:-}" ] && [[ " $GML_BENCH_ONLY " != *" $name "* ]]; then continue; fi
  log="$out/$name.log"
  echo "== $name: ${commands[$i]}" >&2
  start=$(date +%s)
  (cd "$root" && bash -c "${commands[$i]}") > "$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  [ "$rc" -eq 0 ] || status=1
  # The last result line of each benchmark is its headline.
  headline=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | cut -c1-100)
  rows+=("$(printf '%-10s %4s %7ss  %s' "$name" "$rc" "$secs" "$headline")")
done

echo
printf '%-10s %4s %8s  %s\n' benchmark exit time "last line of out/bench/<benchmark>.log"
printf '%s\n' "${rows[@]}"
exit "$status"
