#!/usr/bin/env bash
# Installs what locbench needs to build, only what is missing: Debian -dev packages and a pinned CPU LibTorch.
# Idempotent: a second run installs nothing.
set -euo pipefail

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
DEB_PACKAGES=(cmake g++ make libfmt-dev nlohmann-json3-dev libsqlite3-dev libgtest-dev libgmock-dev
              libbenchmark-dev libcli11-dev libstb-dev)
DEB_PACKAGES+=(libssl-dev)  # SHA-256 of checkpoints in a run's provenance (OpenSSL's EVP digests)

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
