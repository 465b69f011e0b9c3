#!/usr/bin/env bash
# Installs cargo-zigbuild and zig (the `ziglang` package) from PyPI into .venv, once, pinned.
# tests/it/build_for_lambda.rs builds a fixture with `builder = "zigbuild"` through them, and makes real
# aarch64 and x86_64 ELF files with `python -m ziglang cc`. A second run with the right versions
# already present only checks them (well under a second).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_ZIGBUILD_VERSION=0.24.0
ZIGLANG_VERSION=0.17.0

# shellcheck source=scripts/lib/pins.sh
source scripts/lib/pins.sh
if pinned "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION" \
  && [ -x .venv/bin/cargo-zigbuild ]; then
  exit 0
fi
echo "installing cargo-zigbuild==$CARGO_ZIGBUILD_VERSION ziglang==$ZIGLANG_VERSION into .venv" >&2
.venv/bin/pip install --quiet --disable-pip-version-check \
  "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION"
