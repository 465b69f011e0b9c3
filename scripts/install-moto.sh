#!/usr/bin/env bash
# Installs the local Lambda/STS emulator (moto server) into .venv, once.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.1
if .venv/bin/python -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
echo "installing moto==$MOTO_VERSION into .venv" >&2
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check "moto==$MOTO_VERSION" flask flask-cors
