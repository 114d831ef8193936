#!/usr/bin/env bash
# Builds the libFuzzer target with clang (ASan + UBSan) in ${TARMAC_FUZZ_BUILD_DIR:-build-fuzz}
# and fuzzes the model loader for ${FUZZ_SECONDS:-60} seconds. Extra arguments go to libFuzzer.
#   FUZZ_SECONDS=300 scripts/fuzz.sh
# The corpus persists in $build/fuzz/corpus between runs; crashing inputs are written to
# $build/fuzz/artifacts/ and replay with: $build/tests/fuzz/fuzz_loader <file>
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TARMAC_FUZZ_BUILD_DIR:-build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTARMAC_FUZZ=ON -DTARMAC_CUDA=OFF -DTARMAC_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j "${FUZZ_BUILD_JOBS:-2}" fuzz_loader tarmac_make_bad_models

# Seeds: the small models the CLI tests use, plus the ONNX node tests when installed.
seeds="$build/fuzz/seeds"
corpus="$build/fuzz/corpus"
artifacts="$build/fuzz/artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
"$build/tests/cli/tarmac_make_bad_models" "$build/fuzz/models" >/dev/null
find "$build/fuzz/models" -name '*.onnx' -size -64k -exec cp {} "$seeds/" \;
n=0
for m in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
  [ -f "$m" ] || continue
  cp "$m" "$seeds/$(basename "$(dirname "$m")").onnx"
  n=$((n + 1))
done
echo "fuzz: $(find "$seeds" -type f | wc -l) seed models ($n from libonnx-testdata), ${seconds}s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
"$build/tests/fuzz/fuzz_loader" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" \
  "$corpus" "$seeds"
