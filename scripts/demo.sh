#!/usr/bin/env bash
# The main job, with no AWS account: start a local Lambda/STS emulator (moto server) on
# 127.0.0.1, publish examples/hello-extension once in the artifacts account and grant dev,
# publish again (nothing new), promote that exact version to test and prod through the
# manifest, show the status, and stop the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --quiet
export PATH="$PWD/target/debug:$PATH"   # so `cargo layer` finds cargo-layer
source scripts/lib/moto.sh

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
