"""
Integration test harness: starts the real `switchboard` binary on a free
loopback port against a fresh database (SQLite in a temp dir, or a new
PostgreSQL database on $SB_TEST_PG_URL) and drives it over HTTP and the CLI.

Environment: SB_BIN (the binary), SB_TEST_BACKEND (sqlite|postgres),
SB_TEST_PG_URL (postgres only), SB_SOURCE_DIR, SB_TEST_LOG_DIR (server stderr
is appended there, one file per server, so a final test can grep every log for
leaked secrets). Python standard library only.
"""
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

SOURCE_DIR = os.environ.get("SB_SOURCE_DIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SB_BIN = os.environ.get("SB_BIN", os.path.join(SOURCE_DIR, "build", "src", "switchboard"))
LOG_DIR = os.environ.get("SB_TEST_LOG_DIR", os.path.join(SOURCE_DIR, "build-test-logs"))


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_url_with_db(url, dbname):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


class Server:
    """One server process with its own database. Use start()/stop() or `with`."""

    def __init__(self, env=None, backend=None):
        self.backend = backend or os.environ.get("SB_TEST_BACKEND", "sqlite")
        self.datadir = tempfile.mkdtemp(prefix="sbit_")
        self.port = free_port()
        self.host = "127.0.0.1"
        self.proc = None
        self.pg_db = None
        self.env = dict(os.environ)
        # Tests must not read a developer's .env file from the working directory.
        self.env.pop("SB_DATABASE_URL", None)
        self.env.update({
            "SB_COOKIE_SECURE": "false",
            "SB_LOG_LEVEL": "info",
            "SB_DATA_DIR": self.datadir,
            "SB_ENV": "development",
        })
        if self.backend == "postgres":
            base = os.environ.get("SB_TEST_PG_URL")
            if not base:
                raise RuntimeError("SB_TEST_BACKEND=postgres needs SB_TEST_PG_URL")
            self.pg_db = "sbit_" + secrets.token_hex(6)
            subprocess.run(["psql", base, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            "CREATE DATABASE " + self.pg_db],
                           check=True, capture_output=True, timeout=60)
            self.pg_base = base
            self.env["SB_DATABASE_URL"] = _pg_url_with_db(base, self.pg_db)
        if env:
            self.env.update(env)
        os.makedirs(LOG_DIR, exist_ok=True)
        self.log_path = os.path.join(LOG_DIR, "server-%d-%s.log" % (os.getpid(), secrets.token_hex(4)))
        self.log_file = open(self.log_path, "ab")

    # ------------------------------------------------------------ CLI

    def cli(self, *args, input=None, timeout=60, env=None):
        """Run "$SB_BIN args --data DIR"; returns (rc, stdout str, stderr str)."""
        e = dict(self.env)
        if env:
            e.update(env)
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run([SB_BIN] + [str(a) for a in args] + ["--data", self.datadir],
                           input=input, capture_output=True, env=e, timeout=timeout, cwd=self.datadir)
        self.log_file.write(p.stderr)
        self.log_file.flush()
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def cli_json(self, *args, input=None):
        rc, out, err = self.cli(*args, input=input)
        assert rc == 0, "switchboard %s exited %d: %s" % (" ".join(map(str, args)), rc, err)
        return json.loads(out)

    def tenant(self, name=None):
        name = name or "t-" + secrets.token_hex(4)
        return self.cli_json("tenant", "create", "--name", name, "--json")["id"]

    def user(self, tenant, email, role, password, name=None):
        args = ["user", "create", "--tenant", tenant, "--email", email, "--role", role,
                "--password-stdin", "--json"]
        if name:
            args += ["--name", name]
        return self.cli_json(*args, input=password + "\n")["id"]

    def apikey(self, tenant, role, name=None):
        args = ["apikey", "create", "--tenant", tenant, "--role", role, "--json"]
        if name:
            args += ["--name", name]
        return self.cli_json(*args)["key"]

    def apikey_full(self, tenant, role, name=None):
        """The whole JSON of `apikey create` ({"id","key",...})."""
        args = ["apikey", "create", "--tenant", tenant, "--role", role, "--json"]
        if name:
            args += ["--name", name]
        return self.cli_json(*args)

    # ---------------------------------------------------------- process

    def migrate(self):
        rc, out, err = self.cli("migrate")
        assert rc == 0, "migrate failed: " + err

    def start(self, timeout=30):
        self.migrate()
        self.proc = subprocess.Popen(
            [SB_BIN, "serve", "--listen", "%s:%d" % (self.host, self.port), "--data", self.datadir],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=self.log_file,
            env=self.env, cwd=self.datadir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %d; log %s:\n%s"
                                   % (self.proc.returncode, self.log_path, self.read_log()[-4000:]))
            try:
                st, _, _ = self.request("GET", "/healthz", timeout=2)
                if st == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy; log:\n" + self.read_log()[-4000:])

    def read_log(self):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def sigterm(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
        if self.pg_db:
            subprocess.run(["psql", self.pg_base, "-q", "-c",
                            "DROP DATABASE IF EXISTS " + self.pg_db + " WITH (FORCE)"],
                           capture_output=True, timeout=60)
            self.pg_db = None
        if not self.log_file.closed:
            self.log_file.close()
        shutil.rmtree(self.datadir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------- HTTP

    def conn(self, timeout=15):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=15):
        """Returns (status, {lower-case header: value}, body bytes)."""
        c = self.conn(timeout)
        try:
            if isinstance(body, str):
                body = body.encode()
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            hdrs = {}
            for k, v in r.getheaders():
                k = k.lower()
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs and k != "set-cookie" else v
            return r.status, hdrs, data
        finally:
            c.close()

    def json(self, method, path, obj=None, key=None, headers=None):
        """JSON request; key adds "Authorization: Bearer key". Returns (status, parsed or None)."""
        st, _, parsed = self.json_full(method, path, obj, key, headers)
        return st, parsed

    def json_full(self, method, path, obj=None, key=None, headers=None):
        """Like json() but returns (status, headers, parsed or None)."""
        h = dict(headers or {})
        body = None
        if obj is not None:
            body = json.dumps(obj).encode()
            h.setdefault("Content-Type", "application/json")
        if key:
            h["Authorization"] = "Bearer " + key
        st, hdrs, data = self.request(method, path, body=body, headers=h)
        try:
            return st, hdrs, json.loads(data) if data else None
        except ValueError:
            return st, hdrs, None


def wait_for(fn, timeout=20.0, what="condition"):
    """Poll fn every 50 ms until it returns something truthy (returned), or
    fail the test after timeout seconds naming what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)
