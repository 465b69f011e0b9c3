#!/usr/bin/env bash
# The main job, with no AWS account: start a local Lambda/STS emulator (moto server) on
# 127.0.0.1, publish examples/hello-extension once in the artifacts account and grant dev,
# publish again (nothing new), promote that exact version to test and prod through the
# manifest, show the status, and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-moto.sh
cargo build --locked --quiet
export PATH="$PWD/target/debug:$PATH"   # so `cargo layer` finds cargo-layer

log=$(mktemp)
.venv/bin/python -m moto.server -H 127.0.0.1 -p 0 2>"$log" &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  port=$(sed -n 's|.*Running on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { echo "moto server did not start:" >&2; cat "$log" >&2; exit 1; }

# Dummy credentials, the emulator endpoint, and none of your own AWS configuration.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=eu-central-1
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=demo
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
example=(--manifest-path examples/hello-extension/Cargo.toml)
role=(--assume-role arn:aws:iam::111111111111:role/layer-publisher)
manifest=examples/hello-extension/target/layer/hello-extension.json

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step cargo layer publish --stage dev
cargo layer publish "${example[@]}" "${role[@]}" --stage dev
step cargo layer publish --stage dev "(again: same bytes, same version)"
cargo layer publish "${example[@]}" "${role[@]}" --stage dev
step cargo layer promote --stage test --stage prod --manifest "$manifest"
cargo layer promote "${example[@]}" "${role[@]}" --stage test --stage prod --manifest "$manifest"
step cargo layer status
cargo layer status "${example[@]}" "${role[@]}"
