#!/usr/bin/env bash
# Installs everything tarmac needs on Debian 12 (run as root): build tools and libraries from
# Debian, and a Python virtual environment for model generation and reference runtimes.
#   scripts/setup.sh [min|test]   min: quickstart needs (default); test: + torch, onnxruntime
set -euo pipefail
cd "$(dirname "$0")/.."
level="${1:-min}"

debian_packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libeigen3-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpng-dev zlib1g-dev
  python3 python3-venv python3-pip python3-onnx clang-format
)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="${TARMAC_VENV:-$HOME/.cache/tarmac/venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating Python environment $venv"
  python3 -m venv "$venv"
fi
req=python/requirements-min.txt
[ "$level" = test ] && req=python/requirements.txt
stamp="$venv/.tarmac-$(sha256sum "$req" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages from $req"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -r "$req"
  touch "$stamp"
fi
echo "setup: done (Python environment: $venv)"
