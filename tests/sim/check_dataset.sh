#!/usr/bin/env bash
# End-to-end run of `tarmac sim airside`: a few frames, then checks of the written dataset.
#   check_dataset.sh TARMAC OUT_DIR [EXTRA_FLAGS...]
set -u
tarmac=$1
out=$2
shift 2
frames=3

fail() {
  echo "FAIL: $1"
  exit 1
}

rm -rf "$out"
log=$("$tarmac" sim airside --frames=$frames --seed=5 --out="$out" --threads=2 "$@" 2>&1)
rc=$?
echo "$log"
[ $rc -eq 0 ] || fail "exit code $rc"
echo "$log" | grep -Eq 'Throughput: [0-9.]+ frames/s' || fail "no frames/s line"
[ -f "$out/dataset.json" ] || fail "dataset.json missing"
[ -f "$out/ImageSets/train.txt" ] && [ -f "$out/ImageSets/val.txt" ] || fail "ImageSets missing"
[ "$(cat "$out/ImageSets/train.txt" "$out/ImageSets/val.txt" | wc -l)" -eq $frames ] ||
  fail "splits do not list $frames frames"
for ((i = 0; i < frames; i++)); do
  id=$(printf '%06d' $i)
  bin="$out/points/$id.bin"
  [ -f "$bin" ] || fail "$bin missing"
  size=$(stat -c %s "$bin")
  [ "$size" -gt 0 ] || fail "$bin is empty"
  [ $((size % 16)) -eq 0 ] || fail "$bin has $size bytes, not a multiple of 16"
  txt="$out/labels/$id.txt"
  counts="$out/labels/$id.counts"
  [ -f "$txt" ] && [ -f "$counts" ] || fail "labels of $id missing"
  [ "$(wc -l <"$txt")" -eq "$(wc -l <"$counts")" ] || fail "$counts does not match $txt"
  awk 'NF != 8 { exit 1 }' "$txt" || fail "$txt has a line without 8 fields"
done
if ls "$out"/*/*.partial >/dev/null 2>&1; then fail "temporary files left behind"; fi
echo "ok: $frames frames"
