#!/usr/bin/env bash
# Usage: check_layers.sh SOURCE_DIR
# The layers of docs/architecture.md, enforced on every #include "…" of the
# product code: each folder may include only the folders below it. An
# include without a folder is the file's own folder. Also: fits_io/ and the
# public headers use no LibTorch, and the public headers include nothing but
# <stddef.h>, <stdint.h> and each other. Families do not reach into each
# other: each core/<family> may include only core/common, core/distributed
# and fits_io (the posterior family may reuse the flow's spline). A family's
# sub-folders (core/posterior/sed, core/merger/{sim,nets,search}) belong to
# it and are checked again by their own, narrower rule: the SED model and the
# merger simulator are plain C++ (no LibTorch) and see only core/common and
# fits_io; the encoders know nothing of the merger heads.
set -euo pipefail
cd "$1"
status=0

# folder : the include prefixes it may use (besides its own folder)
rules=(
  "fits_io:"
  "core/common:fits_io/"
  "core/distributed:core/common/"
  "core/flow:core/common/ core/distributed/ fits_io/"
  "core/posterior:core/common/ core/distributed/ core/flow/ fits_io/"
  "core/diffusion:core/common/ core/distributed/ fits_io/"
  "core/merger:core/common/ core/distributed/ fits_io/"
  "core/posterior/sed:core/common/ fits_io/"
  "core/merger/sim:core/common/ fits_io/"
  "core/merger/nets:core/common/"
  "core/merger/search:core/common/ core/merger/merger_images.h"
  "adapters:core/common/ fits_io/"
  "runs:adapters/ core/ fits_io/"
  "capi/src:capi/src/ galaxyml/ runs/ adapters/ core/ fits_io/"
  "capi/include/galaxyml:galaxyml/"
  "examples:galaxyml/"
)

checked=0
for rule in "${rules[@]}"; do
  dir=${rule%%:*}
  allowed="$dir/ ${rule#*:}"
  [[ -d $dir ]] || continue
  while IFS= read -r file; do
    checked=$((checked + 1))
    while IFS= read -r inc; do
      [[ $inc == */* ]] || continue
      ok=0
      for prefix in $allowed; do
        [[ $inc == "$prefix"* ]] && ok=1
      done
      if [[ $ok == 0 ]]; then
        echo "FAIL: $file includes \"$inc\": $dir may include only ${allowed}"
        status=1
      fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
  done < <(find "$dir" -name '*.h' -o -name '*.cpp' -o -name '*.c' | sort)
done

if grep -rnE '#include <(torch|ATen|c10)/' fits_io capi/include core/posterior/sed core/merger/sim; then
  echo "FAIL: fits_io/, the public headers, core/posterior/sed and core/merger/sim must not use LibTorch"
  status=1
fi
if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' capi/include/galaxyml/*.h |
    grep -vE '<(stddef|stdint)\.h>'; then
  echo "FAIL: a public header includes more than <stddef.h> and <stdint.h>"
  status=1
fi

[[ $status == 0 ]] && echo "ok: $checked files keep to their layers"
exit $status
