#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit, conformance, real models, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
scripts/check_format.sh
# One CUDA architecture keeps the CI build short; the GPU test machines are sm_90.
scripts/build.sh -DTARMAC_BUILD_TESTS=ON -DTARMAC_CUDA_ARCHITECTURES=90
build="${TARMAC_BUILD_DIR:-build}"
cd "$build"
ctest --output-on-failure -j2
