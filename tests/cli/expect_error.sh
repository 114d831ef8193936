#!/usr/bin/env bash
# Runs a command on bad input and checks that it failed cleanly:
#   expect_error.sh PATTERN -- COMMAND [ARGS...]
#     exit code in [1, 127] (no signal, no hang), no sanitizer/abort report, and stderr holding
#     exactly one line that starts with "error:", which matches the extended regex PATTERN.
#   expect_error.sh --success PATTERN -- COMMAND [ARGS...]
#     exit code 0, no "error:" line, and stdout matching PATTERN.
# Exits 77 (ctest's SKIP_RETURN_CODE here) when the command failed only because an op it
# needs is still a "not implemented yet" skeleton.
set -u

mode=error
if [ "${1:-}" = --success ]; then
  mode=success
  shift
fi
if [ $# -lt 3 ] || [ "$2" != -- ]; then
  echo "usage: $0 [--success] PATTERN -- COMMAND [ARGS...]" >&2
  exit 2
fi
pattern=$1
shift 2

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout --kill-after=5 "${TARMAC_CLI_TIMEOUT:-60}" "$@" >"$out" 2>"$err" </dev/null
rc=$?

fail() {
  echo "FAIL: $1"
  echo "--- command: $*"
  echo "--- exit code: $rc"
  echo "--- stdout:"
  cat "$out"
  echo "--- stderr:"
  cat "$err"
  exit 1
}

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then fail "timed out (hang?)"; fi
if [ $rc -ge 128 ]; then fail "killed by signal $((rc - 128)) (crash)"; fi
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|internal invariant failed|terminate called|Segmentation fault|Aborted' "$err"; then
  fail "crash or sanitizer report on stderr"
fi
errors=$(grep -c '^error:' "$err")
line=$(grep '^error:' "$err" | head -n 1)

if [ $mode = success ]; then
  [ $rc -eq 0 ] || fail "expected success"
  [ "$errors" -eq 0 ] || fail "unexpected error line"
  grep -Eq -- "$pattern" "$out" || fail "stdout does not match '$pattern'"
  exit 0
fi

[ $rc -ne 0 ] || fail "expected a non-zero exit code"
[ "$errors" -eq 1 ] || fail "expected exactly one 'error:' line on stderr, found $errors"
if ! printf '%s\n' "$line" | grep -Eq -- "$pattern"; then
  if printf '%s\n' "$line" | grep -q 'not implemented yet'; then
    echo "SKIP: needs an op that is not implemented yet: $line"
    exit 77
  fi
  fail "error line does not match '$pattern'"
fi
echo "ok: exit $rc, $line"
