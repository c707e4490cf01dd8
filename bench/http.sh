#!/usr/bin/env bash
# bench/http.sh: HTTP throughput of switchboard against nginx, in one run, on
# loopback. Builds a release binary (build-bench/, -O2), prepares a throwaway
# SQLite database with the CLI (tenant + owner API key), starts the server
# (SB_LOG_LEVEL=warn) and nginx (static 2-byte body, `return 200 "ok"`, same
# number of workers as server threads, access_log off), then measures with
# wrk --latency: nginx, GET /healthz, authenticated GET /api/v1/me. Prints
# requests/s and p99 for each with its ratio to nginx; the last line is
# `me_vs_nginx ratio=<x.xx>`. The three targets are measured in interleaved
# rounds and each figure is the median over the rounds, so a burst of other
# work on the machine skews one sample, not the result. Everything listens on
# 127.0.0.1 and is stopped and deleted on exit. Knobs (environment):
# BENCH_ROUNDS (default 3), BENCH_DURATION (s per target per round, 5),
# BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (2),
# SB_THREADS (server threads and nginx workers; default nproc).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-64}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
THREADS=${SB_THREADS:-$(nproc)}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}

bench_need wrk nginx curl python3

bench_build "$BUILD"

TMP=$(mktemp -d /tmp/sb-bench.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM



# ------------------------------------------------------------ switchboard
export SB_ENV=development SB_LOG_LEVEL=warn SB_THREADS="$THREADS" SB_DATA_DIR="$TMP/data"
unset SB_DATABASE_URL
mkdir -p "$TMP/data"
(cd "$TMP" && "$BIN" migrate --data "$TMP/data" >/dev/null)
TENANT=$(cd "$TMP" && "$BIN" tenant create --name bench --json --data "$TMP/data" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$(cd "$TMP" && "$BIN" apikey create --tenant "$TENANT" --role owner --name bench --json --data "$TMP/data" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
SB_PORT=$(free_port)
(cd "$TMP" && exec "$BIN" serve --listen "127.0.0.1:$SB_PORT" --data "$TMP/data" 2>"$TMP/server.log") &
SERVER_PID=$!
wait_http "http://127.0.0.1:$SB_PORT/healthz"
me_status=$(curl -s -o "$TMP/me.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$SB_PORT/api/v1/me")
if [[ $me_status != 200 ]]; then
  echo "bench: GET /api/v1/me with the API key answered $me_status: $(cat "$TMP/me.json")" >&2
  exit 1
fi

# ------------------------------------------------------------------ nginx
bench_nginx "$THREADS"

# --------------------------------------------------------------- measure
# wrk_once name round url [header]: one wrk --latency run, appended to
# $TMP/results as "name round rps p99_ms non2xx".
wrk_once() {
  local name=$1 round=$2 url=$3; shift 3
  local hdr=()
  [[ $# -gt 0 ]] && hdr=(-H "$1")
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${hdr[@]}" "$url" >"$TMP/wrk-$name-$round.txt"
  python3 - "$TMP/wrk-$name-$round.txt" "$name" "$round" >>"$TMP/results" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if not rps or not p99:
    sys.exit("cannot parse wrk output:\n" + text)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
print(sys.argv[2], sys.argv[3], rps.group(1), "%.3f" % (float(p99.group(1)) * scale), bad.group(1) if bad else 0)
PY
}

ME_HDR="Authorization: Bearer $KEY"
echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "    wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency; $ROUNDS interleaved rounds, median of each; ${WARMUP}s warm-up per target; loopback only"
echo "    server: $THREADS threads, SB_LOG_LEVEL=warn (request logging off so it does not dominate)"
echo "    nginx: $THREADS workers, access_log off, static 2-byte body"
echo "    load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "    note: wrk, nginx and switchboard share the same $(nproc) cores, so absolute"
echo "    figures are lower than on a dedicated load generator; the ratios are the point."
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$NGX_PORT/" >/dev/null
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$SB_PORT/healthz" >/dev/null
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -H "$ME_HDR" "http://127.0.0.1:$SB_PORT/api/v1/me" >/dev/null
: >"$TMP/results"
for round in $(seq 1 "$ROUNDS"); do
  wrk_once nginx "$round" "http://127.0.0.1:$NGX_PORT/"
  wrk_once healthz "$round" "http://127.0.0.1:$SB_PORT/healthz"
  wrk_once me "$round" "http://127.0.0.1:$SB_PORT/api/v1/me" "$ME_HDR"
done

python3 - "$TMP/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, rnd, rps, p99, bad in rows:
    by.setdefault(name, []).append((float(rps), float(p99), int(bad)))
print()
print("per round (requests/s):")
for name in ("nginx", "healthz", "me"):
    print("  %-8s %s" % (name, "  ".join("%.0f" % r for r, _, _ in by[name])))
med = {n: (statistics.median(r for r, _, _ in v), statistics.median(p for _, p, _ in v), sum(b for _, _, b in v))
       for n, v in by.items()}
rn, pn, _ = med["nginx"]
print()
print("%-28s %12s %10s %12s %10s" % ("target (median)", "requests/s", "p99 ms", "rps/nginx", "p99/nginx"))
for key, label in (("nginx", "nginx static 2 B"), ("healthz", "GET /healthz"), ("me", "GET /api/v1/me (API key)")):
    r, p, _ = med[key]
    print("%-28s %12.0f %10.2f %12.2f %10.2f" % (label, r, p, r / rn, p / pn if pn else 0))
fail = 0
for key in ("healthz", "me"):
    if med[key][2]:
        sys.stderr.write("bench: %s got %d non-2xx responses; its figure is not valid\n" % (key, med[key][2]))
        fail = 1
print()
print("healthz_vs_nginx ratio=%.2f" % (med["healthz"][0] / rn))
print("me_vs_nginx ratio=%.2f" % (med["me"][0] / rn))
sys.exit(fail)
PY
