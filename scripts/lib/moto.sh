# shellcheck shell=bash
# Sourced by the demo and bench scripts: start moto server on 127.0.0.1 with a free port, export
# the environment that points the tool at it (dummy keys, none of your AWS files), stop on exit.
./scripts/install-moto.sh
moto_log=$(mktemp)
.venv/bin/python -m moto.server -H 127.0.0.1 -p 0 2>"$moto_log" &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; rm -f "$moto_log"' EXIT
for _ in $(seq 100); do
  moto_port=$(sed -n 's|.*Running on http://127.0.0.1:\([0-9]*\).*|\1|p' "$moto_log" | head -n1)
  [ -n "$moto_port" ] && break
  sleep 0.1
done
[ -n "${moto_port:-}" ] || { echo "moto server did not start:" >&2; cat "$moto_log" >&2; exit 1; }
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=eu-central-1
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=local
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
