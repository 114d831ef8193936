#!/usr/bin/env bash
# The main job: set up, build, generate tarmac's default model and run it on the CPU,
# printing its outputs and latency.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh min
scripts/build.sh -DTARMAC_BUILD_TESTS=OFF -DTARMAC_BUILD_BENCH=OFF
build="${TARMAC_BUILD_DIR:-build}"
venv="${TARMAC_VENV:-$HOME/.cache/tarmac/venv}"
"$venv/bin/python" python/make_default_model.py --out "$build/models/tarmac_default.onnx"
"$build/tarmac" inspect "$build/models/tarmac_default.onnx"
"$build/tarmac" run --onnx="$build/models/tarmac_default.onnx" --seed=1 --iterations=20
