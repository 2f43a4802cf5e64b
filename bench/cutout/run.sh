#!/usr/bin/env bash
# Cutout benchmark: galaxyml vs an astropy Cutout2D loop, one process, one
# thread each. Usage: bench/cutout/run.sh [BUILD_DIR] [extra args]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
shift || true
lib="$build/lib/libgalaxyml.so"
[ -f "$lib" ] || { echo "no $lib: build the galaxyml target first" >&2; exit 1; }
export OMP_NUM_THREADS=1 GML_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
exec "$root/.deps/venv/bin/python" "$root/bench/cutout/bench_cutouts.py" "$lib" "$@"
