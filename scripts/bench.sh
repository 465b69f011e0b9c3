#!/usr/bin/env bash
# The benchmark (numbers, never assertions; not part of ./scripts/test.sh): cargo-layer against
# Info-ZIP zip, the AWS CLI and cargo-lambda on one local moto server; prints a Markdown table.
# Usage: ./scripts/bench.sh [--runs N] [--skip-cold-build] [--only PART]   (about 20 minutes on
# 2 cores with the cold release build, which alone takes most of it)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-moto.sh
./scripts/install-bench-tools.sh
cargo bench --locked --quiet --bench compare -- "$@"
