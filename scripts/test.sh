#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit, conformance, real models, CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
scripts/check_format.sh
scripts/build.sh -DTARMAC_BUILD_TESTS=ON
build="${TARMAC_BUILD_DIR:-build}"
cd "$build"
ctest --output-on-failure -j2
