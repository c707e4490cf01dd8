"""
Crash safety of webhook ingestion (DESIGN.md §1: an acknowledged event is never
lost). Threads send signed Twilio inbound webhooks with distinct MessageSids
over keep-alive connections; after a couple of seconds of that load the server
gets SIGKILL. After a restart on the same database, every webhook that got its
200 is in inbound_events exactly once, with its inbound.process job. Then every
webhook is sent again, acknowledged or not: the acknowledged ones create
nothing new, the others are stored now, and in the end each sid is stored
exactly once with exactly one job. Once the workers have processed them,
each sid is exactly one message, and sending every webhook yet again
creates no new message. Bounded: the kill comes when half of at most 1,800
webhooks (12 threads) are out, or after 2 s.
"""
import http.client
import json
import os
import secrets
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402
import webhook_util as wu  # noqa: E402

PUBLIC = "https://hooks.example.test"
TOKEN = "crash-token-" + secrets.token_hex(8)
THREADS = 12
LOAD_SECONDS = 2.0
PER_THREAD = 150   # at most this many webhooks per sender, so the run stays short under sanitizers


class Sender(threading.Thread):
    """Sends webhooks until told to stop or the server goes away."""

    def __init__(self, srv, path, n):
        super().__init__(daemon=True)
        self.srv, self.path, self.n = srv, path, n
        self.sent, self.acked = [], []
        self.stop = threading.Event()

    def run(self):
        conn = None
        while not self.stop.is_set() and len(self.sent) < PER_THREAD:
            sid = "SM%02d%s" % (self.n, secrets.token_hex(15))
            params = wu.twilio_inbound(sid, "crash test")
            body = urllib.parse.urlencode(params)
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": wu.twilio_signature(TOKEN, PUBLIC + self.path, params)}
            self.sent.append(sid)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=10)
                conn.request("POST", self.path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    self.acked.append(sid)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
        if conn:
            conn.close()


def resend(test, srv, path, sids):
    """Deliver every sid's webhook again, from 8 connections; each must get its 200."""
    statuses = {}

    def worker(part):
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
        for sid in part:
            params = wu.twilio_inbound(sid, "crash test")
            c.request("POST", path, body=urllib.parse.urlencode(params),
                      headers={"Content-Type": "application/x-www-form-urlencoded",
                               "X-Twilio-Signature": wu.twilio_signature(TOKEN, PUBLIC + path, params)})
            r = c.getresponse()
            r.read()
            statuses[sid] = r.status
        c.close()
    threads = [threading.Thread(target=worker, args=(sids[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    test.assertEqual(sorted(statuses), sorted(sids))
    test.assertEqual([sid for sid, st in statuses.items() if st != 200], [])


class CrashTest(unittest.TestCase):
    def test_webhook_crash__acked_survive_sigkill(self):
        srv = Server(env={"SB_PUBLIC_URL": PUBLIC, "SB_WORKERS": "2"})
        try:
            srv.start()
            tenant = srv.tenant()
            _, key = wu.add_account(srv, tenant, "twilio", {"account_sid": "AC" + "4" * 32, "auth_token": TOKEN,
                                                            "from": "+14155550100"})
            path = "/webhooks/twilio/" + key
            senders = [Sender(srv, path, i) for i in range(THREADS)]
            for s in senders:
                s.start()
            # SIGKILL in the middle of the load: once half of it is out (or after LOAD_SECONDS).
            deadline = time.monotonic() + LOAD_SECONDS
            while sum(len(s.sent) for s in senders) < THREADS * PER_THREAD // 2 and time.monotonic() < deadline:
                time.sleep(0.005)
            srv.proc.kill()
            srv.proc.wait(timeout=10)
            for s in senders:
                s.stop.set()
            for s in senders:
                s.join(timeout=30)
            acked = [sid for s in senders for sid in s.acked]
            sent = [sid for s in senders for sid in s.sent]
            self.assertGreater(len(acked), 50, "too little load before the kill to prove anything")
            self.assertEqual(len(set(sent)), len(sent))

            srv.start()
            stored = {}
            for event_id, iev in wu.sql(srv, "SELECT event_id, id FROM inbound_events"):
                stored.setdefault(event_id, []).append(iev)
            jobs = {}
            for (payload,) in wu.sql(srv, "SELECT payload FROM jobs WHERE type = 'inbound.process'"):
                iev = json.loads(payload)["inbound_event"]
                jobs[iev] = jobs.get(iev, 0) + 1
            lost = [sid for sid in acked if sid not in stored]
            self.assertEqual(lost, [], "%d acknowledged webhooks lost" % len(lost))
            for sid in acked:
                self.assertEqual(len(stored[sid]), 1, sid)
                self.assertEqual(jobs.get(stored[sid][0]), 1, "job of " + sid)
            # Nothing was stored that was never sent, and no event lacks its job.
            self.assertTrue(set(stored) <= set(sent))
            self.assertEqual(sorted(jobs), sorted(i for ids in stored.values() for i in ids))
            print("\n    %d sent, %d acknowledged, %d stored before the restart"
                  % (len(sent), len(acked), len(stored)), file=sys.stderr)

            # Every webhook again (the provider retries what it did not see acknowledged).
            before = wu.count(srv, "SELECT count(*) FROM inbound_events")
            resend(self, srv, path, sent)
            after = wu.count(srv, "SELECT count(*) FROM inbound_events")
            self.assertEqual(after - before, len(set(sent)) - len(stored))  # only the missing ones
            rows = wu.sql(srv, "SELECT event_id, count(*) FROM inbound_events GROUP BY event_id")
            self.assertEqual(len(rows), len(set(sent)))
            self.assertTrue(all(int(n) == 1 for _, n in rows))
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process'"), after)
            now = dict((eid, iev) for eid, iev in wu.sql(srv, "SELECT event_id, id FROM inbound_events"))
            for sid in acked:
                self.assertEqual(now[sid], stored[sid][0], "an acknowledged event was rewritten")

            # Processed: one message per sid, and another full redelivery adds none.
            # (Jobs that were running at the kill are claimed again when their
            # 30 s lease expires: that is most of this wait.)
            def processed():
                return wu.count(srv, "SELECT count(*) FROM jobs WHERE type = 'inbound.process'"
                                     " AND state IN ('queued', 'running')") == 0
            deadline = time.monotonic() + 60
            while not processed() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(processed(), "inbound jobs still pending after 60 s")
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM jobs WHERE state = 'dead'"), 0)
            messages = dict(wu.sql(srv, "SELECT provider_message_id, count(*) FROM messages GROUP BY provider_message_id"))
            self.assertEqual(sorted(messages), sorted(set(sent)))
            self.assertTrue(all(int(n) == 1 for n in messages.values()))
            resend(self, srv, path, sent)
            time.sleep(1.0)
            self.assertTrue(processed())
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM messages"), len(set(sent)))
            self.assertEqual(wu.count(srv, "SELECT count(*) FROM inbound_events"), len(set(sent)))
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
