#!/usr/bin/env bash
# Builds stable-diffusion.cpp's command-line tool sd-cli, the C++ peer of
# bench/diffusion, from a checkout made outside this repository:
#   git clone --recursive https://github.com/leejet/stable-diffusion.cpp SRC
#   bench/diffusion/build_sdcpp.sh SRC [BUILD_DIR]
# CPU only (ggml's native SIMD), Release, no WebP/WebM (images are not the
# point). Prints the path of sd-cli on its last line.
set -euo pipefail
src="${1:?usage: build_sdcpp.sh SRC [BUILD_DIR]}"
build="${2:-$src/build-cpu}"
[ -f "$src/ggml/CMakeLists.txt" ] || {
  echo "build_sdcpp.sh: $src/ggml is empty; clone with --recursive" >&2; exit 1; }
# A source snapshot without its largest files lacks the vocabularies of the
# T5/Gemma/Mistral/Qwen tokenizers, which SD-1.x never uses; an empty array
# lets it compile. A full clone has them and is left untouched.
vocab="$src/src/tokenizers/vocab"
if [ -f "$vocab/vocab.cpp" ]; then
  missing=()
  for h in $(grep -o '"[a-z0-9_]*\.hpp"' "$vocab/vocab.cpp" | tr -d '"'); do
    [ -s "$vocab/$h" ] || missing+=("$h")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [[ " ${missing[*]} " == *" clip_merges.hpp "* ]] && {
      echo "build_sdcpp.sh: $vocab/clip_merges.hpp missing; SD-1.x needs it" >&2; exit 1; }
    echo "build_sdcpp.sh: ${missing[*]} absent from the snapshot; empty arrays stand in" >&2
    first="$vocab/${missing[0]}"
    for h in "${missing[@]}"; do : >"$vocab/$h"; done
    for sym in $(grep -o 'char\*>([a-z0-9_]*' "$vocab/vocab.cpp" | cut -d'(' -f2 | sort -u); do
      grep -qs "$sym\[\]" "$vocab"/*.hpp || echo "static const unsigned char ${sym}[] = {0x00};" >>"$first"
    done
  fi
fi
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSD_WEBP=OFF -DSD_WEBM=OFF \
  -DGGML_NATIVE=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target sd-cli >/dev/null
echo "stable-diffusion.cpp $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')," \
     "ggml $(git -C "$src/ggml" rev-parse --short HEAD 2>/dev/null || echo '?')"
find "$build" -name sd-cli -type f -perm -u+x | head -n 1
