#!/usr/bin/env bash
# web.sh: build the dashboard and the chat widget (web/ -> web/dist/, which the
# server serves: SB_WEB_DIR). Does nothing while the tree has no web/package.json.
# `npm ci` runs only when web/node_modules is missing or web/package-lock.json
# is newer than the last install (node_modules/.package-lock.json), so a second
# run is quick and works offline; then `node web/build.mjs` writes web/dist/
# (index.html, assets/<name>-<hash>.*, widget.js). Exits non-zero on failure.
# Needs node >= 18 and npm (scripts/setup.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEB=$ROOT/web

if [[ ! -f $WEB/package.json ]]; then
  exit 0
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "web: $tool not found; run scripts/setup.sh first" >&2
    exit 1
  fi
done

stamp=$WEB/node_modules/.package-lock.json
if [[ ! -d $WEB/node_modules || ! -f $stamp || ( -f $WEB/package-lock.json && $WEB/package-lock.json -nt $stamp ) ]]; then
  echo "web: installing the dashboard's npm packages (npm ci)"
  if ! npm --prefix "$WEB" ci --no-audit --no-fund; then
    echo "web: npm ci failed (is the npm registry reachable?)" >&2
    exit 1
  fi
fi

if ! node "$WEB/build.mjs"; then
  echo "web: the dashboard build failed" >&2
  exit 1
fi
echo "web: dashboard built in $WEB/dist (index.html, assets/, widget.js)"
