#!/usr/bin/env bash
# Usage: check_abi_layout.sh FROZEN_LAYOUT_EXE LIVE_LAYOUT_EXE
# Every field of the frozen ABI 1 structs keeps its offset and size in the
# live header, and no struct is smaller than it was.
set -euo pipefail
frozen=$("$1")
live=$("$2")
status=0
if ! diff <(grep '^field' <<<"$frozen") <(grep '^field' <<<"$live"); then
  echo "FAIL: a field of the ABI 1 structs moved or changed size (lines above: < frozen, > live)"
  status=1
fi
while read -r _ name size; do
  now=$(awk -v n="$name" '$1 == "struct" && $2 == n { print $3 }' <<<"$live")
  if [[ -z $now || $now -lt $size ]]; then
    echo "FAIL: $name is $now bytes now, $size in ABI 1"
    status=1
  fi
done < <(grep '^struct' <<<"$frozen")
n=$(grep -c '^field' <<<"$frozen")
[[ $status == 0 ]] && echo "ok: $n fields of ABI 1 keep their offsets and sizes"
exit $status
