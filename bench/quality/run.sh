#!/usr/bin/env bash
# Detection quality: simulate the default estate for several seeds, scan each
# with the default configuration, and score the alerts against the labels.
# Writes docs/detection-quality.md's tables to stdout; the per-seed alerts and
# JSON reports stay under bench/out/quality/.
#
#   bash bench/quality/run.sh [SEED...]      (default seeds: 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
out=bench/out/quality
mkdir -p "$out"
go build -o "$out/vigil" ./cmd/vigil
for seed in "${seeds[@]}"; do
  dir=$(mktemp -d)
  "$out/vigil" sim --seed "$seed" --out "$dir" 2>"$out/sim-$seed.log"
  paths=()
  for d in "$dir"/*/; do
    case "$(basename "$d")" in geo|intel) ;; *) paths+=("$d") ;; esac
  done
  "$out/vigil" scan -q --inventory "$dir/inventory.jsonl" \
    --intel "$dir/intel/c2.csv" --intel "tor=$dir/intel/tor-exits.txt" --intel "$dir/intel/anonymizers.csv" \
    --geoip "$dir/geo/city.mmdb" --asn "$dir/geo/asn.mmdb" \
    --out "$out/alerts-$seed.jsonl" "${paths[@]}" 2>"$out/scan-$seed.log"
  "$out/vigil" eval --truth "$dir/truth.jsonl" --lookalikes "$dir/lookalikes.jsonl" "$out/alerts-$seed.jsonl" >"$out/eval-$seed.txt" || true
  "$out/vigil" eval --truth "$dir/truth.jsonl" --lookalikes "$dir/lookalikes.jsonl" --json "$out/alerts-$seed.jsonl" >"$out/eval-$seed.json" || true
  echo "### Seed $seed"
  echo
  echo '```'
  sed -n '1,/overall/p' "$out/eval-$seed.txt"
  echo '```'
  echo
  rm -rf "$dir"
done
