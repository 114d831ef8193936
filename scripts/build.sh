#!/usr/bin/env bash
# Configures and builds tarmac into ${TARMAC_BUILD_DIR:-build}. Extra arguments go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TARMAC_BUILD_DIR:-build}"
venv="${TARMAC_VENV:-$HOME/.cache/tarmac/venv}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DTARMAC_PYTHON="$venv/bin/python" "$@" >/dev/null
ninja -C "$build"
