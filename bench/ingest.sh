#!/usr/bin/env bash
# bench/ingest.sh: durable webhook ingestion against nginx's static rate, in one
# run, on loopback. Builds a release binary (build-bench/, -O2), prepares a
# throwaway SQLite database (the default configuration: WAL, synchronous=FULL)
# with a tenant and a Twilio channel account, starts `switchboard serve` with
# its normal job workers (SB_LOG_LEVEL=warn) and nginx (static 2-byte body, as
# in bench/http.sh), and measures with wrk --latency and bench/ingest.lua:
# signed Twilio inbound-SMS webhooks, every MessageSid distinct (pre-signed by
# bench/ingest_prep.py, a bounded number per run, never repeated within a run).
# nginx and ingest are measured in interleaved rounds and each figure is the
# median over the rounds. Afterwards it checks that the number of
# inbound_events rows equals the number of 200s the server sent (its own
# counter) and that every sid wrk saw acknowledged is stored exactly once,
# then waits for the processing backlog (job batches yield to webhooks in the
# group writer, so a burst is processed after it is acknowledged) and checks
# that every stored event became exactly one message.
# Prints the SQLite mode, the commit strategy and the writer's batch sizes;
# the last line is `ingest_vs_nginx ratio=<x.xx> rps=<n> p99_ms=<n>`.
# Knobs (environment): BENCH_ROUNDS (3), BENCH_DURATION (s per target per
# round, 5), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (64), BENCH_WRK_THREADS (2),
# BENCH_REQUESTS (pre-signed requests per run, 200000), SB_THREADS (server
# threads and nginx workers; default nproc), SB_WORKERS (job workers, default 4),
# BENCH_PERF=FILE (perf record -g of the server during the first ingest round,
# written to FILE; report it with `perf report -i FILE`).
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
NREQ=${BENCH_REQUESTS:-200000}
THREADS=${SB_THREADS:-$(nproc)}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}

bench_need wrk nginx curl python3 sqlite3

bench_build "$BUILD"

TMP=$(mktemp -d /tmp/sb-ingest.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM



# ------------------------------------------------------------ switchboard
PUBLIC=https://bench.example.test
TOKEN=bench-token-$(python3 -c 'import secrets; print(secrets.token_hex(8))')
export SB_ENV=development SB_LOG_LEVEL=warn SB_THREADS="$THREADS" SB_DATA_DIR="$TMP/data" SB_PUBLIC_URL="$PUBLIC"
unset SB_DATABASE_URL
mkdir -p "$TMP/data"
(cd "$TMP" && "$BIN" migrate --data "$TMP/data" >/dev/null)
TENANT=$(cd "$TMP" && "$BIN" tenant create --name bench --json --data "$TMP/data" |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
ACCOUNT_KEY=$(cd "$TMP" && python3 "$ROOT/bench/ingest_prep.py" account "$TMP/data" "$BIN" "$TENANT" "$TOKEN")
HOOK_PATH=/webhooks/twilio/$ACCOUNT_KEY
SB_PORT=$(free_port)
(cd "$TMP" && exec "$BIN" serve --listen "127.0.0.1:$SB_PORT" --data "$TMP/data" 2>"$TMP/server.log") &
SERVER_PID=$!
wait_http "http://127.0.0.1:$SB_PORT/healthz"

# ------------------------------------------------------------------ nginx
bench_nginx "$THREADS"

# ------------------------------------------------------- signed requests
# One file per wrk run (warm-up and each round), each with its own sid prefix.
echo "==> signing $NREQ requests per run ($((ROUNDS + 1)) runs)"
gen_pids=()
for run in w $(seq 1 "$ROUNDS"); do
  python3 "$ROOT/bench/ingest_prep.py" requests "$TMP/req-$run.tsv" "$NREQ" "R${run}x" "$PUBLIC" "$HOOK_PATH" "$TOKEN" &
  gen_pids+=($!)
done
for p in "${gen_pids[@]}"; do wait "$p"; done

# --------------------------------------------------------------- measure
# wrk_once name round url [run]: one wrk --latency run, appended to
# $TMP/results as "name round rps p99_ms non2xx".
wrk_once() {
  local name=$1 round=$2 url=$3 run=${4:-}
  if [[ -n $run ]]; then
    INGEST_REQUESTS="$TMP/req-$run.tsv" INGEST_ACKED="$TMP/acked-$run.txt" INGEST_PATH="$HOOK_PATH" \
      INGEST_THREADS="$WRK_THREADS" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
      -s "$ROOT/bench/ingest.lua" "$url" >"$TMP/wrk-$name-$round.txt"
  else
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$TMP/wrk-$name-$round.txt"
  fi
  python3 - "$TMP/wrk-$name-$round.txt" "$name" "$round" >>"$TMP/results" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
p99 = re.search(r"^\s*99%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
ing = re.search(r"INGEST sent=(\d+) ok=(\d+) wrapped=(\d+)", text)
if not rps or not p99:
    sys.exit("cannot parse wrk output:\n" + text)
if ing and int(ing.group(3)):
    sys.exit("bench: a wrk thread ran out of pre-signed requests (raise BENCH_REQUESTS):\n" + text)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
print(sys.argv[2], sys.argv[3], rps.group(1), "%.3f" % (float(p99.group(1)) * scale), bad.group(1) if bad else 0)
PY
}

echo "==> $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "    commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')"
echo "    wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency; $ROUNDS interleaved rounds, median of each; ${WARMUP}s warm-up per target; loopback only"
echo "    ingest: POST $HOOK_PATH, signed Twilio inbound SMS (X-Twilio-Signature over $PUBLIC + path),"
echo "            a distinct MessageSid per request ($NREQ pre-signed per run, none repeated)"
echo "    server: $THREADS threads, ${SB_WORKERS:-4} job workers, SB_LOG_LEVEL=warn; SQLite WAL, synchronous=FULL (the default)"
echo "    commit strategy: group commit, one writer thread; each batch = every request queued since the last"
echo "            commit (up to 256), one transaction, one fsync; a request's 200 waits for its batch's COMMIT"
echo "    nginx: $THREADS workers, access_log off, static 2-byte body"
echo "    load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$NGX_PORT/" >/dev/null
DURATION_SAVE=$DURATION; DURATION=$WARMUP
wrk_once ingest 0 "http://127.0.0.1:$SB_PORT" w
DURATION=$DURATION_SAVE
: >"$TMP/results"
for round in $(seq 1 "$ROUNDS"); do
  wrk_once nginx "$round" "http://127.0.0.1:$NGX_PORT/"
  PERF_PID=""
  if [[ -n ${BENCH_PERF:-} && $round == 1 ]]; then
    perf record -F 999 -g -p "$SERVER_PID" -o "$BENCH_PERF" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
  fi
  wrk_once ingest "$round" "http://127.0.0.1:$SB_PORT" "$round"
  [[ -n $PERF_PID ]] && wait "$PERF_PID" || true
done
# The processing backlog the moment the load stops (before the checks below take their time).
DRAIN_START=$(date +%s.%N)
BACKLOG=$(sqlite3 -cmd '.timeout 10000' "$TMP/data/switchboard.db" \
  "SELECT count(*) FROM jobs WHERE type = 'inbound.process' AND state IN ('queued', 'running')")
curl -s "http://127.0.0.1:$SB_PORT/metrics" >"$TMP/metrics.txt"
python3 "$ROOT/bench/ingest_prep.py" verify "$TMP/data" "$TMP"/acked-*.txt >"$TMP/verify.txt"

# The webhooks are acknowledged; their processing (contact, conversation,
# message, realtime event) may lag behind a burst, since job batches yield to
# webhooks in the group writer. Wait for it to finish (bounded) and check
# that every stored event became exactly one message.
while :; do
  LEFT=$(sqlite3 -cmd '.timeout 10000' "$TMP/data/switchboard.db" \
    "SELECT count(*) FROM jobs WHERE type = 'inbound.process' AND state IN ('queued', 'running')")
  [[ $LEFT == 0 ]] && break
  if python3 -c "import sys,time; sys.exit(0 if time.time() - $DRAIN_START < 600 else 1)"; then sleep 0.5; else
    echo "bench: $LEFT inbound.process jobs still pending 600 s after the load" >&2; exit 1; fi
done
DRAIN_S=$(python3 -c "import time; print('%.1f' % (time.time() - $DRAIN_START))")
MSGS=$(sqlite3 -cmd '.timeout 10000' "$TMP/data/switchboard.db" "SELECT count(*) FROM messages WHERE direction = 'inbound'")
DEAD=$(sqlite3 -cmd '.timeout 10000' "$TMP/data/switchboard.db" "SELECT count(*) FROM jobs WHERE state = 'dead'")
printf 'backlog=%s\ndrain_s=%s\nmessages=%s\ndead=%s\n' "$BACKLOG" "$DRAIN_S" "$MSGS" "$DEAD" >>"$TMP/verify.txt"

python3 - "$TMP/results" "$TMP/metrics.txt" "$TMP/verify.txt" <<'PY'
import re, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for name, rnd, rps, p99, bad in rows:
    by.setdefault(name, []).append((float(rps), float(p99), int(bad)))
metrics = open(sys.argv[2]).read()
ver = dict(l.strip().split("=", 1) for l in open(sys.argv[3]) if "=" in l)

def metric(name, labels=None):
    pat = re.escape(name) + (r"\{" + labels + r"\}" if labels else r"") + r" ([0-9.e+]+)$"
    m = re.search(pat, metrics, re.M)
    return float(m.group(1)) if m else 0.0

print()
print("per round (requests/s):")
for name in ("nginx", "ingest"):
    print("  %-8s %s" % (name, "  ".join("%.0f" % r for r, _, _ in by[name])))
med = {n: (statistics.median(r for r, _, _ in v), statistics.median(p for _, p, _ in v), sum(b for _, _, b in v))
       for n, v in by.items()}
rn, pn, _ = med["nginx"]
print()
print("%-34s %12s %10s %12s %10s" % ("target (median)", "requests/s", "p99 ms", "rps/nginx", "p99/nginx"))
for key, label in (("nginx", "nginx static 2 B"), ("ingest", "POST /webhooks/twilio (signed)")):
    r, p, _ = med[key]
    print("%-34s %12.0f %10.2f %12.2f %10.2f" % (label, r, p, r / rn, p / pn if pn else 0))

batches = metric("sb_store_writer_batches_total")
ops = metric("sb_store_writer_ops_total")
commit_s = metric("sb_store_writer_commit_seconds_total")
hist = re.findall(r'sb_store_writer_batch_size_bucket\{le="([^"]+)"\} (\d+)', metrics)
# The server's own count of the 200s it decided to send (after each commit),
# whether or not the client was still there to read it.
served_200 = metric("sb_webhook_requests_total", r'provider="twilio",outcome="stored"') + \
    metric("sb_webhook_requests_total", r'provider="twilio",outcome="duplicate"')
print()
print("group commit (whole run, warm-up included): %d transactions for %d operations, mean batch %.1f, largest %d,"
      % (batches, ops, ops / batches if batches else 0, metric("sb_store_writer_max_batch")))
exec_s = metric("sb_store_writer_exec_seconds_total")
done_s = metric("sb_store_writer_done_seconds_total")
print("  writer time: %.2f s running operations, %.2f s in COMMIT (mean %.2f ms), %.2f s answering"
      % (exec_s, commit_s, commit_s / batches * 1000 if batches else 0, done_s))
print("  batches by size: %s"
      % (", ".join("<=%s: %d" % (le, int(n) - int(hist[i - 1][1]) if i else int(n)) for i, (le, n) in enumerate(hist)
                   if (int(n) - (int(hist[i - 1][1]) if i else 0)) > 0)))
print("  inbound.process jobs by state at the end: %s (the server's own workers ran during the load, with"
      % ver.get("job_states", "?"))
print("  the inbound.process handler this build's messaging module registers; their claims and outcomes")
print("  go through the same writer)")
fail = 0
rows_n, acked, missing = int(ver["rows"]), int(ver["acked"]), int(ver["acked_missing"])
print()
print("verify: inbound_events rows %d, 200s the server answered %d, 200s wrk read %d, jobs %d"
      % (rows_n, served_200, acked, int(ver["jobs"])))
if rows_n != served_200:
    sys.stderr.write("bench: %d rows but the server sent %d 200s\n" % (rows_n, served_200)); fail = 1
if missing or int(ver["acked_unique"]) != acked:
    sys.stderr.write("bench: %d acknowledged sids not stored (or acknowledged twice)\n" % missing); fail = 1
if int(ver["distinct"]) != rows_n or int(ver["jobs"]) != rows_n:
    sys.stderr.write("bench: duplicate events or missing jobs\n"); fail = 1
if med["ingest"][2]:
    sys.stderr.write("bench: ingest got %d non-2xx responses; its figure is not valid\n" % med["ingest"][2]); fail = 1
print("  every sid wrk saw acknowledged is stored exactly once: %s" % ("yes" if not fail else "NO"))
backlog, drain, msgs, dead = int(ver["backlog"]), float(ver["drain_s"]), int(ver["messages"]), int(ver["dead"])
if backlog:
    print("processing: %d events still to process when the load stopped, done %.1f s later (%.0f events/s once"
          " the webhooks stopped)" % (backlog, drain, backlog / drain if drain > 0 else 0))
else:
    print("processing: kept up with the load (no backlog when it stopped)")
print("  inbound messages %d for %d stored events, dead jobs %d" % (msgs, rows_n, dead))
if msgs != rows_n or dead:
    sys.stderr.write("bench: processing did not turn every event into exactly one message\n"); fail = 1
print()
r, p, _ = med["ingest"]
print("ingest_vs_nginx ratio=%.2f rps=%d p99_ms=%d" % (r / rn, round(r), round(p)))
sys.exit(fail)
PY
