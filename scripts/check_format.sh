#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format (.clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.h' '*.cc' '*.cu' '*.cuh')
[ -z "$files" ] && exit 0
if ! clang-format --dry-run --Werror $files; then
  echo "format check failed: run 'clang-format -i' on the files above" >&2
  exit 1
fi
echo "format check: $(echo "$files" | wc -l) files clean"
