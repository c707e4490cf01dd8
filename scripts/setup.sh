#!/usr/bin/env bash
# setup.sh: install every Debian package that the build, the tests, the fuzzers
# and the benchmarks need. Idempotent: dpkg-query decides what is missing, and
# apt-get (update once, then install) runs only when something is, so a second
# run is fast and works offline. Runs as root (CI) or through sudo when present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev          # libFuzzer + ASan/UBSan runtime for clang
  libmicrohttpd-dev libwslay-dev libcjson-dev
  libsqlite3-dev sqlite3
  libpq-dev postgresql              # client library + server binaries for the tests
  libsodium-dev libssl-dev libcurl4-openssl-dev
  libgmime-3.0-dev                  # inbound e-mail (SendGrid Inbound Parse) MIME parsing
  zlib1g-dev                        # gzip copies of the dashboard's files
  python3-cryptography              # tests/fakes: SendGrid event signing (ECDSA P-256)
  tzdata                            # the tz database (/usr/share/zoneinfo): tenants' quiet hours
  python3
  wrk nginx-light                   # bench/http.sh
  curl ca-certificates
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "setup: missing packages (${missing[*]}) and not root, no sudo; install them as root" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "setup: done"
