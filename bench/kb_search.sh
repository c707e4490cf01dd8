#!/usr/bin/env bash
# bench/kb_search.sh: knowledge base retrieval on SQLite. Builds a release
# build (build-bench/, -O2, with -DBUILD_BENCH=ON) of bench/kb_search.c and
# runs it in a temp directory: a 100,000-chunk knowledge base built through
# the store API, then BENCH_QUERIES (2000) top-5 searches of 2 to 5 words
# through assistant_kb_search, each followed by the same FTS5 expression as
# a plain MATCH ... ORDER BY bm25 LIMIT 5 through the sqlite3 C API.
# The last line is
# `kb_search median_ms=<x> p99_ms=<x> plain_median_ms=<x> ratio=<x> target_ms=5.0 met|NOT MET`;
# exits 1 when the 5 ms median target is not met.
# Knobs (environment): BENCH_CHUNKS (100000), BENCH_QUERIES (2000).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build-bench}
echo "==> build (release, -O2) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DENABLE_SANITIZERS=OFF -DBUILD_TESTS=OFF -DBUILD_FUZZERS=OFF -DBUILD_BENCH=ON >/dev/null
make -C "$BUILD" -j"$(nproc)" --no-print-directory kb_search >/dev/null
TMP=$(mktemp -d /tmp/sb-kb-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/bench/kb_search" "$TMP" "${BENCH_CHUNKS:-100000}" "${BENCH_QUERIES:-2000}"
