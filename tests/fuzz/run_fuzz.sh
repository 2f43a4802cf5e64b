#!/usr/bin/env bash
# Runs each libFuzzer target (the fits_io readers, the model-file reader and
# the safetensors and NumPy readers) for SECONDS on a scratch copy of its seed corpus
# (the repository is never modified). Exits non-zero if a target finds a crash, leak, timeout or
# sanitizer report.
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gml_fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Headers may claim absurd sizes; CFITSIO and WCSLIB check for a NULL
# from malloc, which is what a real allocator returns for such requests.
# Let ASan return NULL too instead of reporting the request as a crash.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"

# The model-file target writes its files under TMPDIR; a target that dies
# leaves them there, inside the scratch directory that is removed on exit.
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"

status=0
for pair in fuzz_fits_table:table fuzz_fits_wcs:wcs fuzz_model_file:model \
    fuzz_safetensors:safetensors fuzz_numpy:numpy; do
  target=${pair%%:*}
  corpus=${pair##*:}
  bin=$(find "$build_dir" -type f -name "$target" -perm -u+x | head -n 1)
  if [[ -z "$bin" ]]; then
    echo "run_fuzz: $target not found under $build_dir (configure with clang and -DGML_BUILD_FUZZ=ON)" >&2
    exit 2
  fi
  mkdir -p "$work/$corpus" "$work/artifacts-$target"
  cp -R "$here/corpus/$corpus/." "$work/$corpus/"
  # Past findings of this target (findings/<corpus>_*.bin) join the corpus,
  # so every run replays them first: a regression fails at once.
  for f in "$here/findings/${corpus}"_*.bin; do
    [[ -e "$f" ]] && cp "$f" "$work/$corpus/"
  done
  echo "run_fuzz: $target for ${seconds}s"
  # Leaks count as failures (GML_FUZZ_LEAKS=0 turns that off when
  # investigating something else); the WCSLIB leaks once seen are avoided
  # by fits_io (tests/fuzz/findings/README.md). A single allocation above
  # 2 GiB is a finding too: a model file that makes the reader allocate what
  # its config or dataset shapes claim rather than what it holds.
  if ! "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
      -detect_leaks="${GML_FUZZ_LEAKS:-1}" \
      -artifact_prefix="$work/artifacts-$target/" "$work/$corpus" \
      > "$work/$target.log" 2>&1; then
    echo "run_fuzz: $target FAILED; last lines of its log:" >&2
    tail -n 40 "$work/$target.log" >&2
    # Keep the reproducer (and full log) where they survive the scratch
    # directory, inside the build tree rather than the repository.
    keep="$build_dir/fuzz-artifacts/$target"
    mkdir -p "$keep"
    cp "$work/artifacts-$target"/* "$work/$target.log" "$keep/" 2>/dev/null || true
    echo "run_fuzz: reproducer and log kept in $keep" >&2
    ls -l "$keep" >&2 || true
    status=1
  else
    grep -E "^(#[0-9]+.*DONE|Done [0-9]+ runs)" "$work/$target.log" | tail -n 1 || true
  fi
done
exit $status
