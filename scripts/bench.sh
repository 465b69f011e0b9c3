#!/usr/bin/env bash
# Benchmarks (numbers, never assertions): packaging the example, and publish re-runs against a
# local moto server. Usage: ./scripts/bench.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cargo build --locked --release --quiet
tool="$PWD/target/release/cargo-layer"
example=(--manifest-path examples/hello-extension/Cargo.toml)
"$tool" package "${example[@]}" -q >/dev/null   # build the example once

time_runs() { # label, command...
  local label=$1; shift
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  printf '%-52s %8.1f ms/run (%d runs)\n' "$label" "$(( (end - start) / runs ))e-6" "$runs"
}

time_runs "package hello-extension (--no-build)" "$tool" package "${example[@]}" --no-build -q
source scripts/lib/moto.sh
role=(--assume-role arn:aws:iam::111111111111:role/layer-publisher)
"$tool" publish "${example[@]}" "${role[@]}" --no-build -q >/dev/null
time_runs "publish, unchanged content (reuse, 3 Lambda reads)" "$tool" publish "${example[@]}" "${role[@]}" --no-build -q
time_runs "status" "$tool" status "${example[@]}" "${role[@]}" -q
