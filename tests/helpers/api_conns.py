#!/usr/bin/python3
"""api_conns.py PORT PATH MAX: the answer of vantage-api to connections
over --max-conns MAX on 127.0.0.1:PORT.  Holds MAX keep-alive connections
that were answered 200, then checks that one more gets the API's error
object (503, JSON with error.status, Retry-After) and is closed, and that
a new connection is answered 200 again once a held one is closed.  Prints
TAP lines ("ok - ...", "not ok - ...")."""
import json
import socket
import sys
import time

PORT, PATH, MAX = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
TRIES = 300   # 0.1 s apart: the server notices closed connections on its own


def get(s):
    """One GET on s: (status, headers dict, body bytes, closed after)."""
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % PATH).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, {}, b"", True
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, v in
            (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
    n = int(hdrs.get("content-length", "0"))
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            break
        body += d
    closed = False
    if hdrs.get("connection", "").lower() == "close":
        s.settimeout(10)
        closed = s.recv(1) == b""
    return status, hdrs, body, closed


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    return s


def ok(cond, what):
    print("%s - %s" % ("ok" if cond else "not ok", what))
    return cond


held = []
for _ in range(TRIES):
    s = connect()
    st = get(s)[0]
    if st == 200:
        held.append(s)
        if len(held) == MAX:
            break
    else:
        s.close()       # an earlier connection not yet seen closed
        time.sleep(0.1)
ok(len(held) == MAX, "%d keep-alive connections answered 200" % MAX)

s = connect()
st, hdrs, body, closed = get(s)
try:
    err = json.loads(body)["error"]
except (ValueError, KeyError, TypeError):
    err = {}
ok(st == 503, "connection %d over --max-conns %d: 503 (got %s)" % (MAX + 1, MAX, st))
ok(err.get("status") == 503 and isinstance(err.get("detail"), str),
   "its body is the error object: %r" % body[:200])
ok(hdrs.get("retry-after", "").isdigit(), "it has Retry-After")
ok(closed, "and the connection is closed after it")
s.close()
for h in held[1:]:
    ok(get(h)[0] == 200, "a held connection still answers 200")

held.pop().close()
st = None
for _ in range(TRIES):
    s = connect()
    st = get(s)[0]
    s.close()
    if st == 200:
        break
    time.sleep(0.1)
ok(st == 200, "once one is closed, a new connection is answered 200")
for h in held:
    h.close()
