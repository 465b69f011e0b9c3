#!/usr/bin/env bash
# Installs the offline validators for action.yml and the workflows into .venv (see issue 4).
set -euo pipefail
cd "$(dirname "$0")/.."
