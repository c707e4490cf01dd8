#!/usr/bin/env python3
"""
bench/ingest_prep.py: the parts of bench/ingest.sh that need Python.

  account DATA_DIR BIN TENANT TOKEN        add a Twilio channel account (row + sealed
                                           credentials), print its public account key
  requests OUT N PREFIX PUBLIC PATH TOKEN  write N signed Twilio inbound-SMS webhooks,
                                           one per line: sid TAB signature TAB form body;
                                           sids are PREFIX + a counter, so distinct
  verify DATA_DIR ACKED_FILE...            count inbound_events and jobs, check that
                                           every acknowledged sid is stored exactly once;
                                           prints key=value lines

Signing is Twilio's: base64(HMAC-SHA1(auth token, URL + each POST parameter name and
value sorted by name)). HMAC in wrk's Lua would cost more than the request itself,
so the requests are made here, ahead of the run (a bounded number).
"""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse


def account(data_dir, binary, tenant, token):
    creds = "account_sid=AC%s\nauth_token=%s\nfrom=+14155550100\n" % ("0" * 32, token)
    p = subprocess.run([binary, "channel", "add", "--tenant", tenant, "--provider", "twilio", "--name", "bench",
                        "--set-stdin", "--json", "--data", data_dir], input=creds.encode(), check=True,
                       capture_output=True)
    print(json.loads(p.stdout)["account_key"])


def requests(out, n, prefix, public, path, token):
    url = public + path
    key = token.encode()
    with open(out, "w") as f:
        for i in range(int(n)):
            sid = "SM%s%0*d" % (prefix, 32 - len(prefix), i)
            params = [("AccountSid", "AC" + "0" * 32), ("ApiVersion", "2010-04-01"), ("Body", "bench message %d" % i),
                      ("From", "+1415555%04d" % (i % 10000)), ("MessageSid", sid), ("NumMedia", "0"),
                      ("SmsMessageSid", sid), ("SmsSid", sid), ("SmsStatus", "received"), ("To", "+14155550100")]
            data = url + "".join(k + v for k, v in params)  # already sorted by name
            sig = base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()
            f.write("%s\t%s\t%s\n" % (sid, sig, urllib.parse.urlencode(params)))


def verify(data_dir, *acked_files):
    con = sqlite3.connect(os.path.join(data_dir, "switchboard.db"), timeout=60)
    rows = con.execute("SELECT count(*) FROM inbound_events").fetchone()[0]
    distinct = con.execute("SELECT count(DISTINCT event_id) FROM inbound_events").fetchone()[0]
    jobs = con.execute("SELECT count(*) FROM jobs WHERE type = 'inbound.process'").fetchone()[0]
    states = con.execute("SELECT state, count(*) FROM jobs WHERE type = 'inbound.process' GROUP BY state"
                         " ORDER BY state").fetchall()
    stored = set(r[0] for r in con.execute("SELECT event_id FROM inbound_events"))
    con.close()
    acked = []
    for fn in acked_files:
        with open(fn) as f:
            acked.extend(line.strip() for line in f if line.strip())
    missing = [s for s in acked if s not in stored]
    print("rows=%d" % rows)
    print("distinct=%d" % distinct)
    print("jobs=%d" % jobs)
    print("job_states=%s" % ",".join("%s:%d" % s for s in states))
    print("acked=%d" % len(acked))
    print("acked_unique=%d" % len(set(acked)))
    print("acked_missing=%d" % len(missing))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"account": account, "requests": requests, "verify": verify}[cmd](*args)
