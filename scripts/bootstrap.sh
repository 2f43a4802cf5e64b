#!/usr/bin/env bash
# Installs every build and test dependency of galaxyml on Debian 12.
# Idempotent: re-running only checks what is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="${GML_DEPS_DIR:-$ROOT/.deps}"
VENV="$DEPS/venv"
TORCH_SPEC="${GML_TORCH_SPEC:-torch==2.11.*}"
TORCHVISION_SPEC="${GML_TORCHVISION_SPEC:-torchvision==0.26.*}"

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libcfitsio-dev wcslib-dev libhdf5-dev hdf5-tools
  libboost-program-options-dev
  libopenmpi-dev openmpi-bin
  libgtest-dev googletest
  nlohmann-json3-dev
  libpng-dev zlib1g-dev libgd-dev
  clang libclang-rt-14-dev clang-format
  python3 python3-venv python3-pip
  gfortran gnudatalanguage
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# LibTorch comes from the torch wheel in a project-local venv; the venv also
# carries the independent Python peers used for golden values and benchmarks.
PY="${GML_PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  mkdir -p "$DEPS"
  "$PY" -m venv "$VENV"
fi
stamp="$DEPS/.pip-$(echo "$TORCH_SPEC" | tr -c 'A-Za-z0-9.' '_')-v8"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # sbi is the posterior family's benchmark peer, torchvision the merger
  # family's (with scikit-learn and scikit-image for golden values); the
  # torch spec is repeated so no other package can move torch.
  "$VENV/bin/python" -m pip install -q "$TORCH_SPEC" numpy astropy h5py scipy matplotlib nflows zuko \
    fitsio "sbi==0.27.*" "$TORCHVISION_SPEC" scikit-learn scikit-image
  # The diffusion family's peers: diffusers and transformers (the golden
  # values and the benchmark; accelerate, which diffusers users have, loads
  # checkpoints without a second copy in memory), ftfy as CLIPTokenizer uses it, and open_clip
  # only for the CLIP BPE vocabulary file it ships (its own dependencies,
  # timm among them, are not needed for that).
  "$VENV/bin/python" -m pip install -q "$TORCH_SPEC" "diffusers==0.42.*" "transformers==5.25.*" \
    "tokenizers==0.23.*" "ftfy==6.3.*" "safetensors==0.8.*" regex "accelerate==1.*"
  "$VENV/bin/python" -m pip install -q --no-deps "open_clip_torch==3.3.*"
  # The Python binding's test runner, what pip needs to install the binding
  # from its source folder without network, and tqdm for its progress bars.
  "$VENV/bin/python" -m pip install -q "pytest==8.*" wheel tqdm
  touch "$stamp"
fi
# galaxyml.convert.sbi is tested against the previous sbi minor release as
# well: sbi 0.26 alone in its own folder, which its test puts first on
# PYTHONPATH over the venv's other packages.
SBI_OLDER="$DEPS/sbi-0.26"
if [ ! -f "$SBI_OLDER/.complete" ]; then
  rm -rf "$SBI_OLDER"
  "$VENV/bin/python" -m pip install -q --no-deps --target "$SBI_OLDER" "sbi==0.26.1"
  touch "$SBI_OLDER/.complete"
fi
"$VENV/bin/python" -c 'import torch; print("bootstrap: torch", torch.__version__, "at", torch.utils.cmake_prefix_path)'
