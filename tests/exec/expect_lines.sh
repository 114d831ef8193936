#!/usr/bin/env bash
# Runs a command that must succeed and checks its stdout line by line:
#   expect_lines.sh PATTERN... -- COMMAND [ARGS...]
# The command must exit 0 within the time limit with no "error:" line on stderr, and for each
# PATTERN (an extended regex) some stdout line must match; a PATTERN starting with '!' must
# match no line.
set -u

patterns=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  patterns+=("$1")
  shift
done
if [ $# -lt 2 ]; then
  echo "usage: $0 PATTERN... -- COMMAND [ARGS...]" >&2
  exit 2
fi
shift

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout --kill-after=5 "${TARMAC_CLI_TIMEOUT:-120}" "$@" >"$out" 2>"$err" </dev/null
rc=$?

fail() {
  echo "FAIL: $1"
  echo "--- exit code: $rc"
  echo "--- stdout:"
  cat "$out"
  echo "--- stderr:"
  cat "$err"
  exit 1
}

[ $rc -eq 0 ] || fail "expected success"
if grep -q '^error:' "$err"; then fail "unexpected error line"; fi
for p in "${patterns[@]}"; do
  if [ "${p:0:1}" = '!' ]; then
    if grep -Eq -- "${p:1}" "$out"; then fail "stdout has a line matching '${p:1}'"; fi
  else
    grep -Eq -- "$p" "$out" || fail "no stdout line matches '$p'"
  fi
done
echo "ok: ${#patterns[@]} patterns"
