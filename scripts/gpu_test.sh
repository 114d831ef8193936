#!/usr/bin/env bash
# Builds tarmac with CUDA for sm_90 and runs the GPU tests: the kernel harness
# (tarmac_gpu_tests) and the conformance suite on the CUDA executor. Logs go to $OUT (or
# $build/logs). Run on a machine with an NVIDIA GPU.
#   scripts/gpu_test.sh [gtest filter]
set -uo pipefail
cd "$(dirname "$0")/.."
build="${TARMAC_BUILD_DIR:-build-gpu}"
out="${OUT:-$build/logs}"
mkdir -p "$out"
filter="${1:-*}"
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTARMAC_CUDA=ON \
  -DTARMAC_CUDA_ARCHITECTURES=90 >"$out/configure.log" 2>&1; then
  tail -30 "$out/configure.log"
  exit 1
fi
if ! ninja -C "$build" >"$out/build.log" 2>&1; then
  grep -E "error" -A6 "$out/build.log" | head -80
  exit 1
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# Real models (CudaModels) need TARMAC_MODELS_DIR (python/export_models.py output).
"$build/tests/gpu/tarmac_gpu_tests" --gtest_filter="$filter" >"$out/gpu_tests.log" 2>&1
echo "tarmac_gpu_tests exit code $?"
grep -E "^\[  FAILED  \]|^\[  PASSED  \]|tests ran" "$out/gpu_tests.log" | sort -u | head -80
"$build/tests/conformance/tarmac_conformance" --device=cuda \
  --data-dir="${TARMAC_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}" \
  --skip-list=tests/conformance/skip_list.txt >"$out/conformance_cuda.log" 2>&1
echo "conformance (cuda) exit code $?"
grep -E "^FAIL" "$out/conformance_cuda.log" | head -40
tail -3 "$out/conformance_cuda.log"
