"""Parse an e-mail (RFC 5322 / MIME, the file named on the command line,
or stdin) with Python's email package, strictly, and print what it found as
JSON, for the C tests of the MIME builder:
  {"defects": [...every defect the parser noted, in any part...],
   "headers": {name: decoded value} (the last of each name; unfolded),
   "header_count": {name: n}, "from_name", "from_addr" (From, parsed),
   "tree": ["multipart/mixed", ["multipart/alternative", "text/plain", ...], ...],
   "parts": [{"type", "filename", "disposition", "cid", "charset", "cte",
              "text" (text parts, decoded), "sha256" (of the decoded bytes), "len"}]}
"""
import email
import email.policy
import hashlib
import json
import sys


def tree(part):
    if part.is_multipart():
        return [part.get_content_type()] + [tree(p) for p in part.iter_parts()]
    return part.get_content_type()


def main():
    raw = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else sys.stdin.buffer.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default.clone(raise_on_defect=False))
    defects = [type(d).__name__ for d in msg.defects]
    parts = []
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        entry = {"type": part.get_content_type(), "filename": part.get_filename(),
                 "disposition": part.get_content_disposition(), "cid": part.get("Content-ID"),
                 "charset": part.get_content_charset(), "cte": part.get("Content-Transfer-Encoding"),
                 "sha256": hashlib.sha256(data).hexdigest(), "len": len(data)}
        if part.get_content_maintype() == "text":
            entry["text"] = part.get_content()
        parts.append(entry)
    headers, counts = {}, {}
    for name in msg.keys():
        headers[name.lower()] = str(msg[name])
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    frm = msg["From"].addresses[0] if msg["From"] is not None and msg["From"].addresses else None
    print(json.dumps({"defects": defects, "headers": headers, "header_count": counts, "tree": tree(msg),
                      "parts": parts, "from_name": frm.display_name if frm else None,
                      "from_addr": frm.addr_spec if frm else None}))


if __name__ == "__main__":
    main()
