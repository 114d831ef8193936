#!/usr/bin/env bash
# Writes the small label folders and scans the eval3d/render command-line tests read:
#   make_cli_data.sh DIR
set -eu
d=$1
rm -rf "$d"
mkdir -p "$d"
cd "$d"

good_gt='10 0 -1 4 1.8 1.6 0.1 Car
25 3 -1 0.8 0.7 1.7 0 Pedestrian'
good_pred='10.2 0 -1 4 1.8 1.6 0.1 Car 0.9
25 3.1 -1 0.8 0.7 1.7 0 Pedestrian 0.6
40 -5 -1 4 1.8 1.6 0 Car 0.3'

mkdir -p ok/gt ok/pred
printf '%s\n' "$good_gt" >ok/gt/000000.txt
printf '%s\n' "$good_pred" >ok/pred/000000.txt
printf '%s\n' "$good_gt" >ok/gt/000001.txt  # no prediction file: zero predictions

mkdir -p bad_columns/gt
printf '%s\n10 0 -1 4 1.8 1.6 Car\n' "$good_gt" >bad_columns/gt/000000.txt
mkdir -p bad_number/pred
printf '10 0 -1 4 x 1.6 0 Car 0.5\n' >bad_number/pred/000000.txt
mkdir -p negative_size/gt
printf '10 0 -1 4 -1.8 1.6 0 Car\n' >negative_size/gt/000000.txt
mkdir -p nan_size/gt
printf '10 0 -1 nan 1.8 1.6 0 Car\n' >nan_size/gt/000000.txt
mkdir -p orphan/pred
printf '%s\n' "$good_pred" >orphan/pred/000000.txt
printf '%s\n' "$good_pred" >orphan/pred/000007.txt
mkdir -p counts/gt
printf '%s\n' "$good_gt" >counts/gt/000000.txt
printf '5\n' >counts/gt/000000.counts
printf '{"frames": [{"frame": "000000", "boxes": [' >truncated.json
printf '{"frames": [{"frame": "000000", "boxes": [{"x": 1}]}]}\n' >missing_key.json
mkdir -p empty_gt

# Scans: 3 points (48 bytes) and 20 bytes.
printf '\x00\x00\x20\x41\x00\x00\x00\x00\x00\x00\x80\xbf\x00\x00\x00\x3f%.0s' 1 2 3 >scan.bin
head -c 20 scan.bin >short.bin
