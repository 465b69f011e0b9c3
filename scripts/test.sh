#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what the tests need, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-moto.sh
./scripts/install-ci-tools.sh
./scripts/install-zigbuild.sh
cargo test --locked "$@"
