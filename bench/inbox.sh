#!/usr/bin/env bash
# bench/inbox.sh: the dashboard inbox's first meaningful paint with 10,000
# conversations (web/bench/inbox.mjs), against a release build of the server
# and the built dashboard, in Debian's Chromium on loopback. Prints the
# paint with one conversation (the baseline, same run), with 10,000, their
# ratio, and whether the 1 s target is met (exit 1 when it is not).
# Knobs: BENCH_CONVERSATIONS, BENCH_ROUNDS, BENCH_CONCURRENCY.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TMP=$(mktemp -d /tmp/sb-bench-inbox.XXXXXX)
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"
trap bench_cleanup EXIT

bench_need node chromium
bench_build "$ROOT/build-bench"
bash "$ROOT/scripts/web.sh"
echo "==> load average: $(cut -d' ' -f1-3 /proc/loadavg)"
SB_BIN=$BIN node "$ROOT/web/bench/inbox.mjs"
