#!/usr/bin/env bash
# Installs what the benchmark compares against and measures with, once: Info-ZIP zip, GNU time
# and gcc (Debian packages) and, into .venv, the AWS CLI and cargo-lambda (PyPI, pinned).
# A second run with everything present only checks and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

AWSCLI_VERSION=1.46.2
CARGO_LAMBDA_VERSION=1.9.2

missing=()
command -v zip >/dev/null || missing+=(zip)
command -v unzip >/dev/null || missing+=(unzip)
[ -x /usr/bin/time ] || missing+=(time)
command -v gcc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)" >&2
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

pins=("awscli==$AWSCLI_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION")
# shellcheck source=scripts/lib/pins.sh
source scripts/lib/pins.sh
if pinned "${pins[@]}" && [ -x .venv/bin/aws ] && [ -x .venv/bin/cargo-lambda ]; then
  exit 0
fi
echo "installing ${pins[*]} into .venv" >&2
.venv/bin/pip install --quiet --disable-pip-version-check "${pins[@]}"
