#!/usr/bin/env bash
# test.sh: README command 2, and what .ci/run calls. Runs the whole suite:
#   1. scripts/setup.sh (installs any missing Debian package)
#   2. a gcc ASan+UBSan build with warnings as errors in build-asan/
#   3. a throwaway PostgreSQL on loopback (scripts/pg.sh), always stopped on exit
#   4. ctest: unit tests on both backends and the integration tests
#   5. the dashboard's end-to-end tests (once web/package.json exists): build it
#      (scripts/web.sh), then `npm --prefix web test`, which drives the ASan
#      server binary in Debian's chromium (playwright-core)
#   6. the libFuzzer targets (clang, build-fuzz/), each for a bounded time on a
#      copy of its committed seed corpus (fuzz/corpus/<target>/)
# Exits non-zero if any step fails. Knobs: SB_FUZZ_SECONDS (default 20 per
# target, 0 skips fuzzing), SB_JOBS (default nproc).
set -euo pipefail

# The whole script is one { … } block, so bash parses it completely before it
# runs: editing or pulling this file during a run cannot corrupt the run.
{
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${SB_JOBS:-$(nproc)}
FUZZ_SECONDS=${SB_FUZZ_SECONDS:-20}
BUILD=${SB_BUILD_DIR:-$ROOT/build-asan}
FUZZ_BUILD=${SB_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
FUZZERS=(fuzz_json fuzz_time fuzz_base64 fuzz_twilio fuzz_whatsapp fuzz_address fuzz_webhook fuzz_telegram
         fuzz_tz fuzz_unsubscribe fuzz_template fuzz_media_sniff fuzz_webchat fuzz_instagram fuzz_mime
         fuzz_sendgrid_events fuzz_multipart fuzz_kb_query fuzz_sse fuzz_agent_config fuzz_safety)

step() { printf '\n==> %s\n' "$*"; }

step "setup"
bash "$ROOT/scripts/setup.sh"

step "build (gcc, ASan+UBSan, -Werror) in $BUILD"
CC=${SB_CC:-gcc} cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
  -DENABLE_SANITIZERS=ON -DENABLE_WERROR=ON -DBUILD_TESTS=ON -DBUILD_FUZZERS=OFF >/dev/null
make -C "$BUILD" -j"$JOBS" --no-print-directory

# Sanitizer settings. LeakSanitizer needs ptrace-like access to the process,
# which some containers deny; probe it once and turn leak checking off (loudly)
# only if it cannot work here.
LSAN=1
probe_dir=$(mktemp -d /tmp/sb-lsan.XXXXXX)
printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void){ p = malloc(7); p = 0; return 0; }\n' >"$probe_dir/leak.c"
if gcc -fsanitize=address -o "$probe_dir/leak" "$probe_dir/leak.c" 2>/dev/null; then
  # The probe leaks on purpose and so exits non-zero: keep its output, not its status.
  probe_out=$(ASAN_OPTIONS=detect_leaks=1 "$probe_dir/leak" 2>&1 || true)
  if [[ "$probe_out" != *'LeakSanitizer: detected memory leaks'* ]]; then
    LSAN=0
  fi
fi
rm -rf "$probe_dir"
if [[ $LSAN -eq 0 ]]; then
  echo "WARNING: LeakSanitizer does not work in this environment (ptrace restricted?); running with detect_leaks=0" >&2
fi
export ASAN_OPTIONS="detect_leaks=$LSAN:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"

step "throwaway PostgreSQL"
# shellcheck source=scripts/pg.sh
source "$ROOT/scripts/pg.sh"
trap pg_stop EXIT
trap 'exit 130' INT TERM
pg_start

export SB_TEST_LOG_DIR="$BUILD/test-logs"
rm -rf "$SB_TEST_LOG_DIR"
mkdir -p "$SB_TEST_LOG_DIR"

status=0

step "ctest (ASAN_OPTIONS=$ASAN_OPTIONS)"
if ! ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" --timeout 600; then
  status=1
fi

# The web tests start the server themselves from SB_BIN (the sanitized build
# above, so the sanitizers watch the dashboard's traffic too). A failure fails
# the run; the fuzzers still run.
if [[ -f "$ROOT/web/package.json" ]]; then
  step "dashboard end-to-end (Playwright)"
  if ! bash "$ROOT/scripts/web.sh"; then
    echo "FAIL: the dashboard build (scripts/web.sh)" >&2
    status=1
  elif ! (export SB_BIN="$BUILD/src/switchboard" SB_SOURCE_DIR="$ROOT" SB_TEST_PG_URL="${SB_TEST_PG_URL:-}" \
                 CHROMIUM=/usr/bin/chromium
          npm --prefix "$ROOT/web" test); then
    echo "FAIL: the dashboard's end-to-end tests (npm --prefix web test)" >&2
    status=1
  fi
fi

if [[ "$FUZZ_SECONDS" != 0 ]]; then
  step "fuzzers (clang, libFuzzer+ASan+UBSan) in $FUZZ_BUILD, ${FUZZ_SECONDS}s each"
  CC=clang cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_FUZZERS=ON -DBUILD_TESTS=OFF -DENABLE_SANITIZERS=OFF -DENABLE_WERROR=OFF >/dev/null
  if make -C "$FUZZ_BUILD" -j"$JOBS" --no-print-directory "${FUZZERS[@]}"; then
    work=$(mktemp -d /tmp/sb-fuzz.XXXXXX)
    fuzz_failed=0
    for f in "${FUZZERS[@]}"; do
      target=${f#fuzz_}
      mkdir -p "$work/$target"
      cp -r "$ROOT/fuzz/corpus/$target/." "$work/$target/"
      echo "--- $f: $(ls "$work/$target" | wc -l) seeds, ${FUZZ_SECONDS}s"
      if ! (cd "$work" && "$FUZZ_BUILD/fuzz/$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
              -rss_limit_mb=2048 -print_final_stats=1 "$work/$target" >"$work/$f.log" 2>&1); then
        echo "FAIL: $f found a crash; last lines of its log:" >&2
        tail -n 60 "$work/$f.log" >&2
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null >&2 || true
        fuzz_failed=1
        status=1
      else
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$work/$f.log" || true
      fi
    done
    if [[ $fuzz_failed -eq 0 ]]; then rm -rf "$work"; else echo "fuzz artifacts (reproduce: $FUZZ_BUILD/fuzz/<target> <file>) kept in $work" >&2; fi
  else
    echo "FAIL: fuzzer build" >&2
    status=1
  fi
fi

if [[ $status -eq 0 ]]; then
  step "all tests passed"
else
  step "FAILED (see above)"
fi
exit $status
}
