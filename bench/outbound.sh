#!/usr/bin/env bash
# bench/outbound.sh: outbound throughput, end to end. Builds a release binary
# (build-bench/), starts the fast fake Twilio Messages API
# (bench/fake_twilio_fast.py: real paths, basic auth, form body, Twilio's JSON)
# and `switchboard serve` on the default SQLite configuration with its job
# workers, adds a Twilio channel account pointing at the fake, then has wrk
# POST BENCH_MESSAGES messages to /api/v1/messages (concurrency 64, a distinct
# Idempotency-Key each, BENCH_RECIPIENTS distinct numbers) while the workers
# send them. It waits until every accepted message is "sent" (the provider
# accepted it), then reports, from the stored timestamps, messages/s from the
# first accept to the last "sent", and checks that the fake received exactly
# one request per message (no double sends). Last line:
# `outbound msgs_per_s=<n>`. Loopback only; bounded by BENCH_TIMEOUT seconds.
# Knobs: BENCH_MESSAGES (100000), BENCH_RECIPIENTS (10000), BENCH_CONNECTIONS
# (64), BENCH_TIMEOUT (600), SB_WORKERS (job worker threads, default 4).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

MESSAGES=${BENCH_MESSAGES:-100000}
RECIPIENTS=${BENCH_RECIPIENTS:-10000}
CONNS=${BENCH_CONNECTIONS:-64}
TIMEOUT=${BENCH_TIMEOUT:-600}
WORKERS=${SB_WORKERS:-4}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}

bench_need wrk curl python3 sqlite3

bench_build "$BUILD"

TMP=$(mktemp -d /tmp/sb-outbound.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
sql() { sqlite3 -cmd '.timeout 10000' "$TMP/data/switchboard.db" "$1"; }

# ------------------------------------------------------------- the fake
FAKE_PORT=$(free_port)
SID="AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
python3 "$ROOT/bench/fake_twilio_fast.py" "$FAKE_PORT" --account-sid "$SID" --auth-token "$TOKEN" >"$TMP/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 1 100); do grep -q LISTENING "$TMP/fake.log" 2>/dev/null && break; sleep 0.1; done

# ---------------------------------------------------------- switchboard
export SB_ENV=development SB_LOG_LEVEL=warn SB_DATA_DIR="$TMP/data" SB_WORKERS="$WORKERS"
export SB_TWILIO_API_BASE="http://127.0.0.1:$FAKE_PORT"
unset SB_DATABASE_URL
mkdir -p "$TMP/data"
cli() { (cd "$TMP" && "$BIN" "$@" --data "$TMP/data"); }
cli migrate >/dev/null
TENANT=$(cli tenant create --name bench --json | json_field id)
KEY=$(cli apikey create --tenant "$TENANT" --role owner --name bench --json | json_field key)
ACCOUNT=$(printf 'account_sid=%s\nauth_token=%s\nfrom=+15550001111\n' "$SID" "$TOKEN" |
          cli channel add --tenant "$TENANT" --provider twilio --name bench --set-stdin --json | json_field id)
SB_PORT=$(free_port)
(cd "$TMP" && exec "$BIN" serve --listen "127.0.0.1:$SB_PORT" --data "$TMP/data" 2>"$TMP/server.log") &
SERVER_PID=$!
for _ in $(seq 1 200); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SB_PORT/healthz" || true) == 200 ]] && break
  sleep 0.1
done

echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "    $MESSAGES messages to $RECIPIENTS numbers through POST /api/v1/messages, wrk -t2 -c$CONNS"
echo "    SQLite synchronous=FULL, API writes group-committed; $WORKERS job workers; fake Twilio on loopback"
SHARE=$(( (MESSAGES + 1) / 2 ))
# wrk stops sending once each thread has its share of answers, but only exits
# when its duration is over: give it time for 1,000 accepts/s at least (the
# figure comes from the stored timestamps, so the idle tail does not count).
WRK_SECONDS=${BENCH_WRK_SECONDS:-$(( MESSAGES / 1000 + 10 ))}
START=$(date +%s.%N)
BENCH_KEY=$KEY BENCH_ACCOUNT=$ACCOUNT BENCH_SHARE=$SHARE BENCH_RECIPIENTS=$RECIPIENTS \
  wrk -t2 -c"$CONNS" -d"${WRK_SECONDS}s" --latency -s "$ROOT/bench/outbound.lua" \
  "http://127.0.0.1:$SB_PORT" >"$TMP/wrk.txt"
grep -E "99%|accept_errors" "$TMP/wrk.txt" | sed 's/^/    wrk: /'
if ! grep -q "accept_errors=0 " "$TMP/wrk.txt"; then
  echo "bench: the API refused messages:" >&2; grep accept_errors "$TMP/wrk.txt" >&2; exit 1
fi

ACCEPTED=$(sql "SELECT count(*) FROM messages WHERE direction = 'outbound'")
if (( ACCEPTED < MESSAGES )); then
  echo "bench: only $ACCEPTED of $MESSAGES messages were accepted in ${WRK_SECONDS}s" >&2; exit 1
fi
ACCEPT_MS=$(sql "SELECT max(created_at) - min(created_at) FROM messages WHERE direction = 'outbound'")
echo "    API: $ACCEPTED accepted in ${ACCEPT_MS} ms ($(python3 -c "print(int($ACCEPTED * 1000 / max(1, $ACCEPT_MS)))") accepts/s)"
echo "    accepted: $ACCEPTED messages; waiting for every one to be sent"
DEADLINE=$(( $(date +%s) + TIMEOUT ))
while :; do
  LEFT=$(sql "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'queued'")
  [[ $LEFT == 0 ]] && break
  if (( $(date +%s) > DEADLINE )); then echo "bench: $LEFT messages still queued after ${TIMEOUT}s" >&2; exit 1; fi
  sleep 0.5
done
END=$(date +%s.%N)
curl -s "http://127.0.0.1:$SB_PORT/metrics" >"$TMP/metrics.txt"
python3 - "$TMP/metrics.txt" <<'PY'
import re, sys
m = open(sys.argv[1]).read()
def v(name):
    r = re.search(r"^" + re.escape(name) + r" ([0-9.e+]+)$", m, re.M)
    return float(r.group(1)) if r else 0.0
b, ops = v("sb_store_writer_batches_total"), v("sb_store_writer_ops_total")
print("    group commit: %d transactions for %d operations (mean batch %.1f); writer time %.1f s running"
      " operations, %.1f s in COMMIT (mean %.2f ms)" % (b, ops, ops / b if b else 0,
      v("sb_store_writer_exec_seconds_total"), v("sb_store_writer_commit_seconds_total"),
      v("sb_store_writer_commit_seconds_total") / b * 1000 if b else 0))
PY
SENT=$(sql "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'sent'")
FAILED=$(sql "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status <> 'sent'")
SPAN_MS=$(sql "SELECT max(sent_at) - min(created_at) FROM messages WHERE direction = 'outbound'")
FAKE=$(curl -s "http://127.0.0.1:$FAKE_PORT/_fake/stats")
FAKE_ACCEPTED=$(echo "$FAKE" | json_field accepted)
echo "    sent: $SENT, not sent: $FAILED; the fake accepted $FAKE_ACCEPTED requests ($FAKE)"
echo "    first accept to last sent: ${SPAN_MS} ms (wall clock of the whole run: $(python3 -c "print('%.1f' % ($END - $START))") s)"
if [[ $FAILED != 0 || $FAKE_ACCEPTED != "$SENT" ]]; then
  echo "bench: every accepted message must be sent exactly once" >&2
  exit 1
fi
python3 -c "import sys; n, ms = int(sys.argv[1]), int(sys.argv[2]); print('outbound msgs_per_s=%d' % (n * 1000 / ms))" "$SENT" "$SPAN_MS"
