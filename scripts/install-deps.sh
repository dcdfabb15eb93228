#!/usr/bin/env bash
# Installs what locbench needs to build, only what is missing: Debian -dev packages and a pinned CPU LibTorch.
# Idempotent: a second run installs nothing.
set -euo pipefail

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
# clang-16 and its runtimes build the libFuzzer targets with ASan and UBSan (scripts/fuzz.sh). pdflatex with
# booktabs (texlive-latex-recommended) and graphicx (texlive-latex-base) typesets the report's LaTeX in its test.
DEB_PACKAGES=(cmake g++ make libfmt-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev
              libbenchmark-dev libcli11-dev libjpeg62-turbo-dev libpng-dev libopencv-dev libssl-dev clang-16
              libclang-rt-16-dev texlive-latex-base texlive-latex-recommended libgloo-dev)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Pinned: an unpinned torch pulls several GB of CUDA packages.
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  echo "install-deps: installing torch==${TORCH_VERSION} (CPU)"
  "$PYTHON" -m pip install --quiet "torch==${TORCH_VERSION}"
fi

# What the Python tests and the python/ package import (pinned; pip adds their small dependencies):
# safetensors (checkpoint conversion and its tests), pandas (locbench.results / runs), matplotlib (locbench.figures).
py_missing=()
"$PYTHON" -c "import safetensors" >/dev/null 2>&1 || py_missing+=("safetensors==0.8.0")
"$PYTHON" -c "import pandas" >/dev/null 2>&1 || py_missing+=("pandas==3.1.1")
"$PYTHON" -c "import matplotlib" >/dev/null 2>&1 || py_missing+=("matplotlib==3.11.2")
if ((${#py_missing[@]})); then
  echo "install-deps: installing ${py_missing[*]}"
  "$PYTHON" -m pip install --quiet "${py_missing[@]}"
fi
