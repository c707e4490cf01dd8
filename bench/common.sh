# bench/common.sh: what the benchmarks share (sourced, not run): checking the
# tools, the release build, free loopback ports, waiting for a server, the
# nginx baseline and the cleanup of everything a run started. A benchmark
# sets ROOT and TMP, sources this file, and records the processes it starts
# in SERVER_PID, NGINX_PID and FAKE_PID so bench_cleanup stops them.

SERVER_PID=""
NGINX_PID=""
FAKE_PID=""

bench_need() { # tool…: exit with a clear message when one is missing
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] || {
      echo "bench: $tool is missing; run scripts/setup.sh" >&2; exit 1; }
  done
}

bench_build() { # build dir: a release binary (-O2, no sanitizers); sets BIN
  local build=$1
  echo "==> build (release, -O2) in $build"
  cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DENABLE_SANITIZERS=OFF -DBUILD_TESTS=OFF -DBUILD_FUZZERS=OFF >/dev/null
  make -C "$build" -j"$(nproc)" --no-print-directory switchboard >/dev/null
  BIN=$build/src/switchboard
}

bench_cleanup() { # stop what the run started and delete its directory
  [[ -n "$SERVER_PID" ]] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [[ -n "$NGINX_PID" ]] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  [[ -n "$FAKE_PID" ]] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null || true
  rm -rf "$TMP"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url: until it answers 200, at most 20 s
  local i
  for i in $(seq 1 200); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$1" || true) == 200 ]]; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not answer 200" >&2
  return 1
}

bench_nginx() { # workers: nginx with a static 2-byte body on a free port; sets NGX_PORT, NGINX_PID
  local nginx
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  NGX_PORT=$(free_port)
  mkdir -p "$TMP/nginx/logs"
  cat >"$TMP/nginx/nginx.conf" <<NGX
worker_processes $1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGX_PORT;
    location / { default_type text/plain; return 200 "ok"; }
  }
}
NGX
  "$nginx" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" &
  NGINX_PID=$!
  wait_http "http://127.0.0.1:$NGX_PORT/"
}
