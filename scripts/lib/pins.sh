# shellcheck shell=bash
# Sourced by the install scripts: `pinned name==version ...` succeeds when .venv (created here if
# missing) already holds exactly those distributions, without starting pip (pip is slow).
[ -x .venv/bin/python ] || python3 -m venv .venv

pinned() {
  .venv/bin/python - "$@" <<'PY'
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
}
