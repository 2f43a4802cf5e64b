#!/usr/bin/env bash
# gml-synth end to end on the tiny random pipeline of tests/golden/diffusion:
# convert, sample (text-to-image, 16-bit and channels-last networks,
# img2img from its own output), tokens; the FITS cube's shape and
# provenance keywords read from its header (ASCII, so no Python), the PNG by
# its signature; and the failures a user meets first give a non-zero exit,
# a one-line reason and no output file.
#   tool_smoke.sh GML_SYNTH TINY_SD_DIR WORKDIR
set -euo pipefail
tool="$1"; tiny="$2"; work="$3"
# shellcheck source=../support/tool_test.sh
source "$(dirname "$0")/../support/tool_test.sh"
enter_workdir "$work"
# The value of a header keyword of the primary HDU (80-character cards).
# awk reads to the end: a reader that stops early would make the writers
# of the pipe die of SIGPIPE, which pipefail reports as a failure.
keyword() {
  head -c 28800 "$1" | fold -w 80 | LC_ALL=C awk -v key="$2" '
    !found && substr($0, 1, 8) ~ "^" key " *$" && substr($0, 9, 1) == "=" {
      v = substr($0, 11); sub(/ *\/.*/, "", v); gsub(/\047/, "", v)
      sub(/^ +/, "", v); sub(/ +$/, "", v); print v; found = 1 }'
}
expect_keyword() {
  local got; got="$(keyword "$1" "$2")"
  [ "$got" = "$3" ] || fail "$1: $2 = '$got', expected '$3'"
}
expect_failure() {
  local want="$1" out="$2"; shift 2
  if "$tool" "$@" > out.txt 2> err.txt; then fail "gml-synth $* succeeded"; fi
  [ "$(wc -l < err.txt)" -eq 1 ] || { cat err.txt; fail "the reason is not one line"; }
  grep -qi -- "$want" err.txt || { cat err.txt; fail "the reason does not mention '$want'"; }
  [ ! -e "$out" ] || fail "a failed run left $out"
  echo "expected failure: $(cat err.txt)"
}

# Into files, not pipes: grep -q stops reading at the first match.
"$tool" --help > help.txt
grep -q tokens help.txt || fail "--help lacks the commands"
"$tool" sample --help > help.txt
grep -q -- "--precision" help.txt || fail "sample --help lacks --precision"

"$tool" convert --dir "$tiny" --out tiny.h5 -q
[ -s tiny.h5 ] || fail "convert wrote no model file"

# Two prompts x 2 images of 16 x 24, from the converted file.
"$tool" sample --model tiny.h5 --prompt "a {barred:1.3} spiral galaxy" \
  --prompt "an elliptical galaxy" --n 2 --steps 3 --height 16 --width 24 --seed 7 \
  --out synth.fits -q
is_png synth.png
expect_keyword synth.fits NAXIS 4
expect_keyword synth.fits NAXIS1 24
expect_keyword synth.fits NAXIS2 16
expect_keyword synth.fits NAXIS3 3
expect_keyword synth.fits NAXIS4 4
expect_keyword synth.fits SEED 7
expect_keyword synth.fits SCHEDULR euler_a
expect_keyword synth.fits STEPS 3
expect_keyword synth.fits PRECISN float32
expect_keyword synth.fits CHANLAST F
case "$(keyword synth.fits MODELSUM)" in fnv1a64:*) ;; *) fail "MODELSUM is not a checksum" ;; esac

# The folder itself, bfloat16 networks in channels-last layout.
"$tool" sample --model "$tiny" --prompt "a galaxy" --steps 2 --height 16 --width 16 \
  --precision bfloat16 --channels-last --seed 3 --out bf16.fits -q
expect_keyword bf16.fits PRECISN bfloat16
expect_keyword bf16.fits CHANLAST T
is_png bf16.png

# img2img from the four images just made, one reference per image.
"$tool" sample --model tiny.h5 --prompt "a galaxy" --prompt "a merger" --n 2 --steps 4 \
  --ref synth.fits --strength 0.5 --seed 9 --out img2img.fits -q
expect_keyword img2img.fits NAXIS1 24
expect_keyword img2img.fits STRENGTH 0.5

"$tool" tokens --model tiny.h5 --prompt "a {barred:1.5} galaxy" -q > tokens.txt
grep -q "1.5" tokens.txt || { cat tokens.txt; fail "tokens shows no weight 1.5"; }

expect_failure "precision" bad.fits sample --model tiny.h5 --prompt "a galaxy" --steps 2 \
  --height 16 --width 16 --precision float64 --out bad.fits -q
expect_failure "character" bad.fits sample --model tiny.h5 --prompt "a {barred galaxy" \
  --steps 2 --height 16 --width 16 --out bad.fits -q
expect_failure "multiple" bad.fits sample --model tiny.h5 --prompt "a galaxy" --steps 2 \
  --height 20 --width 16 --out bad.fits -q
expect_failure "steps" bad.fits sample --model tiny.h5 --prompt "a galaxy" --steps 0 \
  --height 16 --width 16 --out bad.fits -q
expect_failure "reference" bad.fits sample --model tiny.h5 --prompt "a galaxy" --steps 4 \
  --ref bf16.fits --height 24 --width 16 --out bad.fits -q
expect_failure "model_index.json" bad.fits sample --model "$tiny/unet" --prompt "a galaxy" --out bad.fits -q
# Procedural galaxies: a galaxy image set and its PNG grid; tags checked.
"$tool" procedural --n 6 --tags "edge-on disk, dust lane" --size 32 --seed 4 --out proc.fits -q
expect_keyword proc.fits NAXIS3 3
expect_keyword proc.fits NAXIS4 6
expect_keyword proc.fits BUNIT nanomaggy
expect_keyword proc.fits SEED 4
is_png proc.png
expect_failure "nearest: 'spiral'" bad.fits procedural --n 2 --tags "disk, spirall" --out bad.fits -q
expect_failure "exclude each other" bad.fits procedural --n 2 --tags "smooth, 2 arms" --out bad.fits -q
echo "gml-synth: all checks passed"
