#!/usr/bin/env bash
# run.sh: README command 1. Installs what is missing (scripts/setup.sh), builds
# a release binary in build/ (-O2, no sanitizers) and the dashboard into
# web/dist/ (scripts/web.sh, once the web sources exist), migrates the embedded
# SQLite database under ./data/, seeds the demo tenant and owner on first run
# (the command is idempotent and prints the demo login every time), then
# replaces itself with the server on 127.0.0.1:8080, which serves the API and
# the dashboard. Stop it with Ctrl-C (SIGINT) or SIGTERM. Knobs: SB_LISTEN
# (default 127.0.0.1:8080), SB_DATA_DIR (./data), SB_WEB_DIR (web/dist).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

LISTEN=${SB_LISTEN:-127.0.0.1:8080}
DATA=${SB_DATA_DIR:-./data}

bash scripts/setup.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DENABLE_SANITIZERS=OFF -DBUILD_TESTS=OFF -DBUILD_FUZZERS=OFF >/dev/null
make -C build -j"$(nproc)" --no-print-directory switchboard

bash scripts/web.sh

BIN=build/src/switchboard
[[ -x $BIN ]] || BIN=build/switchboard
mkdir -p "$DATA"

"$BIN" migrate --data "$DATA"
"$BIN" seed-demo --data "$DATA"

echo
echo "Switchboard is starting on http://$LISTEN/  (health: http://$LISTEN/healthz)"
if [[ -f web/package.json ]]; then
  echo "Open the dashboard at http://$LISTEN/ and log in with the demo login above"
else
  echo "Log in with the demo login above: POST http://$LISTEN/api/v1/auth/login"
fi
echo
# The working directory is the repository root, so the default SB_WEB_DIR
# (web/dist, relative) is the dashboard just built.
exec "$BIN" serve --data "$DATA" --listen "$LISTEN"
