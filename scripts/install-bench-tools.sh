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
[ -x .venv/bin/python ] || python3 -m venv .venv
if .venv/bin/python - "${pins[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
then
  [ -x .venv/bin/aws ] && [ -x .venv/bin/cargo-lambda ] && exit 0
fi
echo "installing ${pins[*]} into .venv" >&2
.venv/bin/pip install --quiet --disable-pip-version-check "${pins[@]}"
