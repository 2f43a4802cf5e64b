#!/usr/bin/env bash
# Catalog read benchmark: 5 numeric columns of a 1M-row FITS table into a
# float32 [rows, 5] buffer, galaxyml (C ABI) vs astropy vs fitsio, in one
# run, one thread each.
#   bench/catalog/run.sh [build-dir] [rows] [repeats]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
rows="${2:-1000000}"
repeats="${3:-5}"
py="${GML_PYTHON:-$root/.deps/venv/bin/python}"
tmp="${TMPDIR:-/tmp}/gml_bench_catalog"
mkdir -p "$tmp"
export OMP_NUM_THREADS=1 GML_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

lib="$build/lib/libgalaxyml.so"
[ -f "$lib" ] || { echo "run.sh: $lib not found; build target galaxyml first" >&2; exit 1; }
c++ -O2 -std=c++17 -I"$root/capi/include" "$root/bench/catalog/bench_catalog.cpp" \
  -L"$build/lib" -lgalaxyml -Wl,-rpath,"$build/lib" -o "$tmp/bench_catalog"

table="$tmp/catalog_${rows}.fits"
[ -f "$table" ] || "$py" "$root/bench/catalog/make_table.py" "$table" "$rows"
echo "table: $table ($(du -h "$table" | cut -f1), $rows rows); columns RA,DEC,Z,FLUX_R,IVAR_R"
echo "machine: $(nproc --all) cores, $(uname -m); threads: 1; best/median of $repeats repeats"
cat "$table" > /dev/null  # same warm page cache for every reader
{
  "$tmp/bench_catalog" "$table" "$repeats"
  "$py" "$root/bench/catalog/bench_python.py" "$table" "$repeats"
} | awk -F'\t' '
  BEGIN { printf "%-14s %10s %10s %10s %16s\n", "reader", "best_s", "median_s", "Mrows/s", "checksum" }
  NF < 5 { print; next }
  { printf "%-14s %10.4f %10.4f %10.2f %16s\n", $1, $2, $3, $4 / $2 / 1e6, $5 }'
