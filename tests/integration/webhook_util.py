"""
Helpers for the webhook integration tests: channel accounts, raw SQL counts,
and requests signed exactly as the providers sign them.

Channel accounts are added as an operator would, with `switchboard channel
add --set-stdin`.

Signing: Twilio X-Twilio-Signature = base64(HMAC-SHA1(auth_token, URL + each
POST parameter name and value, sorted by name)); Meta X-Hub-Signature-256 =
"sha256=" + hex(HMAC-SHA256(app_secret, raw body)), the body serialised as
Meta does (non-ASCII as \\uXXXX, "/" as "\\/").
"""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import time
import urllib.parse

TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def sql(srv, query, params=()):
    """Run one statement on the server's database; returns the rows (lists of str/int)."""
    if srv.backend == "postgres":
        q = query
        for p in params:
            lit = "NULL" if p is None else (str(p) if isinstance(p, int) else "'" + str(p).replace("'", "''") + "'")
            q = q.replace("?", lit, 1)
        out = subprocess.run(["psql", srv.env["SB_DATABASE_URL"], "-At", "-q", "-v", "ON_ERROR_STOP=1",
                              "-F", "\x1f", "-c", q], check=True, capture_output=True, timeout=60).stdout.decode()
        return [line.split("\x1f") for line in out.splitlines() if line]
    con = sqlite3.connect(os.path.join(srv.datadir, "switchboard.db"), timeout=30)
    try:
        cur = con.execute(query, params)
        rows = [list(r) for r in cur.fetchall()]
        con.commit()
        return rows
    finally:
        con.close()


def count(srv, query, params=()):
    return int(sql(srv, query, params)[0][0])


def add_account(srv, tenant, provider, settings):
    """A channel account of tenant with these credentials, added with
    `switchboard channel add --set-stdin`; returns (id, account_key)."""
    lines = "".join("%s=%s\n" % kv for kv in settings.items())
    acct = srv.cli_json("channel", "add", "--tenant", tenant, "--provider", provider, "--name", provider + " test",
                        "--set-stdin", "--json", input=lines)
    return acct["id"], acct["account_key"]


def twilio_signature(token, url, params):
    data = url + "".join(k + v for k, v in sorted(params, key=lambda kv: kv[0]))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_inbound(sid, body="Hello", frm="+14155550123", to="+14155550100"):
    """The form parameters of an inbound SMS, as Twilio posts them (a list of pairs)."""
    return [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
            ("SmsStatus", "received"), ("Body", body), ("To", to), ("MessageSid", sid),
            ("AccountSid", "AC" + "0" * 32), ("From", frm), ("ApiVersion", "2010-04-01")]


def twilio_status(sid, status="delivered", error_code=None):
    p = [("MessageSid", sid), ("SmsSid", sid), ("MessageStatus", status), ("SmsStatus", status),
         ("AccountSid", "AC" + "0" * 32), ("To", "+14155550123"), ("From", "+14155550100"),
         ("ApiVersion", "2010-04-01")]
    if error_code:
        p.append(("ErrorCode", error_code))
    return p


def twilio_post(srv, path, params, token, public_base, sign_url=None, signature=None, headers=None):
    """POST a form signed over sign_url (default: public_base + path). Returns (status, headers, body)."""
    body = urllib.parse.urlencode(params)
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is None:
        signature = twilio_signature(token, sign_url or (public_base + path), params)
    if signature != "":
        h["X-Twilio-Signature"] = signature
    h.update(headers or {})
    return srv.request("POST", path, body=body, headers=h)


def meta_body(obj):
    """Serialise like Meta: compact, non-ASCII as \\uXXXX, "/" as "\\/"."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def meta_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wa_payload(phone_number_id, messages=(), statuses=(), contacts=()):
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
                "contacts": list(contacts), "messages": list(messages), "statuses": list(statuses)}}]}]}


def wa_text(wamid, frm, text, ts=None):
    return {"from": frm, "id": wamid, "timestamp": str(int(ts if ts is not None else time.time())), "type": "text",
            "text": {"body": text}}


def wa_status(wamid, status, ts=None):
    return {"id": wamid, "status": status, "timestamp": str(int(ts if ts is not None else time.time())),
            "recipient_id": "16505551234"}


def meta_post(srv, path, obj_or_body, secret, signature=None):
    body = obj_or_body if isinstance(obj_or_body, bytes) else meta_body(obj_or_body)
    h = {"Content-Type": "application/json"}
    if signature is None:
        signature = meta_signature(secret, body)
    if signature != "":
        h["X-Hub-Signature-256"] = signature
    return srv.request("POST", path, body=body, headers=h)
