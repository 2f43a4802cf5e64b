#!/usr/bin/env bash
# Checks the shipped library's dynamic interface:
#  - it exports nothing but gml_* symbols (plus the version node);
#  - it does not depend on libmpi (MPI is a run-time module);
#  - its SONAME is libgalaxyml.so.N with N the header's GML_ABI_VERSION
#    (header $3);
#  - every exported function has a NULL/invalid-argument case in one of the
#    test_abi_arguments*.cpp files of directory $2.
set -euo pipefail
lib="$1"
covered_dir="$2"
header="$3"
fail=0

# Names carry their version node (gml_init@@GALAXYML_1); compare bare names.
exports() { nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//'; }
bad=$(exports | grep -v '^gml_' | grep -v '^GALAXYML_1$' || true)
if [ -n "$bad" ]; then
  echo "FAIL: non-gml symbols exported:"; echo "$bad" | head -20; fail=1
fi
if ldd "$lib" | grep -q 'libmpi'; then
  echo "FAIL: $lib depends on libmpi:"; ldd "$lib" | grep libmpi; fail=1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
abi=$(sed -n 's/^#define GML_ABI_VERSION \([0-9][0-9]*\)$/\1/p' "$header")
if [ -z "$abi" ] || [ "$soname" != "libgalaxyml.so.$abi" ]; then
  echo "FAIL: SONAME is '$soname' but galaxyml.h has GML_ABI_VERSION '$abi'"; fail=1
fi
n=0
for sym in $(exports | grep '^gml_'); do
  n=$((n + 1))
  if ! grep -q "\"$sym\"" "$covered_dir"/test_abi_arguments*.cpp; then
    echo "FAIL: exported $sym has no NULL/invalid-argument case in test_abi_arguments*.cpp"
    fail=1
  fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no gml_ symbols exported"; fail=1; }
[ "$fail" -eq 0 ] && echo "OK: $n gml_* exports, all covered; no libmpi; SONAME $soname"
exit "$fail"
