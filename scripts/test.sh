#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what the tests need, then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-moto.sh
./scripts/install-ci-tools.sh
./scripts/install-zigbuild.sh
# CI never writes snapshots: a snapshot that no longer matches fails the run (insta).
if [ "${CI:-}" = "true" ]; then
  export INSTA_UPDATE=no
fi
cargo test --locked "$@"
