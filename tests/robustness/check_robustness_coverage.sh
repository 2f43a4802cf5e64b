#!/usr/bin/env bash
# Checks that the robustness harness calls every function the library
# exports, and nothing else:
#  - every gml_* symbol of LIB has a case in CALLS_C (the generated
#    robustness_calls.c), so a new export fails here until the file is
#    regenerated (gen_robustness_calls.py refuses a function it cannot
#    describe);
#  - every function CALLS_C has cases for is exported by LIB.
# Usage: check_robustness_coverage.sh LIB CALLS_C
set -euo pipefail
if [ "$#" -ne 2 ]; then
  echo "usage: $0 LIB CALLS_C" >&2
  exit 2
fi
lib="$1"
calls="$2"

# Names carry their version node (gml_init@@GALAXYML_1); compare bare names.
exports=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | grep '^gml_' |
  sort -u || true)
# Each row of the case table begins with the function's name as a string.
cased=$(grep -o '{"gml_[A-Za-z0-9_]*",' "$calls" | sed 's/^{"\(.*\)",$/\1/' | sort -u || true)

if [ -z "$exports" ]; then
  echo "FAIL: $lib exports no gml_* function"
  exit 1
fi
if [ -z "$cased" ]; then
  echo "FAIL: $calls has no cases"
  exit 1
fi

fail=0
missing=$(comm -23 <(echo "$exports") <(echo "$cased"))
if [ -n "$missing" ]; then
  echo "FAIL: exported functions without robustness cases (describe them in" \
    "tests/robustness/gen_robustness_calls.py and run it):"
  echo "$missing" | sed 's/^/  /'
  fail=1
fi
unknown=$(comm -13 <(echo "$exports") <(echo "$cased"))
if [ -n "$unknown" ]; then
  echo "FAIL: $calls has cases for functions $lib does not export:"
  echo "$unknown" | sed 's/^/  /'
  fail=1
fi
if [ "$fail" -eq 0 ]; then
  echo "OK: $(echo "$exports" | wc -l) gml_* exports, each with robustness cases" \
    "($(grep -c '^ *{"gml_' "$calls") cases)"
fi
exit "$fail"
