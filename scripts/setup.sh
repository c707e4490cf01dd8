#!/usr/bin/env bash
# setup.sh: install every Debian package that the build, the tests, the fuzzers,
# the benchmarks and the dashboard (node and npm to build it, chromium and a
# font for its browser tests) need. Idempotent: dpkg-query decides what is
# missing, and apt-get (update once, then install) runs only when something is,
# so a second run is fast and works offline. A node already on the PATH (say a
# newer one from elsewhere) is kept, as long as it is 18 or later. Runs as root
# (CI) or through sudo when present.
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
  chromium                          # the dashboard's browser tests (playwright-core drives /usr/bin/chromium)
  fonts-dejavu-core                 # a font for the browser tests' pages and screenshots
)

# The dashboard's build (scripts/web.sh: npm ci, esbuild). Debian's node only
# when there is none: another install may be newer, and its npm comes with it.
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

# Node 18 is the oldest the dashboard's tools support.
check_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [[ ! $major =~ ^[0-9]+$ ]] || (( major < 18 )); then
    echo "setup: node $(node --version 2>/dev/null || echo '(none)') is too old: the dashboard needs node 18 or later" \
         "(remove it to get Debian's, or put a newer one first on the PATH)" >&2
    exit 1
  fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  check_node
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
check_node
echo "setup: done"
