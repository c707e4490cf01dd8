# pg.sh: start and stop a throwaway PostgreSQL cluster on loopback (sourced by
# scripts/test.sh; usable by hand: `source scripts/pg.sh; pg_start; ...; pg_stop`).
# The cluster lives in a mktemp directory (data + unix socket), trusts local
# connections, listens on 127.0.0.1 on a free port, runs with fsync=off (it is
# thrown away) and is deleted by pg_stop. As root, initdb/postgres run as the
# "postgres" user through runuser, since PostgreSQL refuses to run as root.
# pg_start exports SB_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres.

PG_DIR=""
PG_PORT=""

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a command as the cluster owner, from the cluster directory (the
# caller's working directory may not be readable by "postgres").
pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd "${PG_DIR:-/}" && runuser -u postgres -- "$@")
  else
    (cd "${PG_DIR:-/}" && "$@")
  fi
}

pg_start() {
  local bin
  bin=$(pg_bindir) || { echo "pg: no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/setup.sh)" >&2; return 1; }
  PG_DIR=$(mktemp -d /tmp/sb-pg.XXXXXX)
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$PG_DIR"
  fi
  pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
    echo "pg: initdb failed:" >&2; cat "$PG_DIR/initdb.log" >&2; return 1; }
  local try
  for try in 1 2 3; do
    PG_PORT=$(pg_free_port)
    if pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
         -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
         start >/dev/null; then
      export SB_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
      echo "pg: throwaway PostgreSQL ($("$bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT, data in $PG_DIR"
      return 0
    fi
    echo "pg: start on port $PG_PORT failed (attempt $try)" >&2
    tail -n 5 "$PG_DIR/server.log" >&2 || true
  done
  return 1
}

pg_stop() {
  [[ -n "$PG_DIR" && -d "$PG_DIR" ]] || return 0
  local bin
  bin=$(pg_bindir) || true
  if [[ -n "$bin" && -f "$PG_DIR/data/postmaster.pid" ]]; then
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
  unset SB_TEST_PG_URL
}
