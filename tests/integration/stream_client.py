"""stream_client.py - a client of vantage-api's live stream (/stream/)
written with Debian's python3-websocket, for the stream_*.sh tests.

  sub URL MSM OUT [--prb N] [--backlog] [--count N] [--ready FILE]
      subscribes; writes each atlas_result's result (the bytes after
      '["atlas_result",' without the closing ']') as one line of OUT;
      touches FILE once atlas_subscribed came; ends after N results
      (exit 0) or on an atlas_error or a closed connection (exit 1).
  stall URL MSM READY GO OUT
      subscribes, touches READY after atlas_subscribed, then reads
      nothing until the file GO exists; then reads what is left and
      writes the last message to OUT (exit 0 when the server closed it).
  bad URL OUT
      sends malformed and refused messages; writes one line per answer.

TLS: VANTAGE_STREAM_CA names the CA file.
"""
import json
import os
import socket
import ssl
import sys
import time

import websocket

PREFIX = '["atlas_result",'


def connect(url, rcvbuf=None):
    opts = {}
    if url.startswith("wss:"):
        opts["sslopt"] = {"ca_certs": os.environ.get("VANTAGE_STREAM_CA"),
                          "cert_reqs": ssl.CERT_REQUIRED}
    if rcvbuf:
        opts["sockopt"] = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),)
    return websocket.create_connection(url, timeout=600, **opts)


def subscribe(ws, msm, prb=None, backlog=False):
    p = {"stream_type": "result", "msm": msm}
    if prb:
        p["prb"] = prb
    if backlog:
        p["sendBacklog"] = True
    ws.send(json.dumps(["atlas_subscribe", p]))


def sub(args):
    url, msm, out = args[0], int(args[1]), args[2]
    prb, backlog, count, ready = None, False, None, None
    i = 3
    while i < len(args):
        if args[i] == "--prb":
            prb = int(args[i + 1]); i += 1
        elif args[i] == "--backlog":
            backlog = True
        elif args[i] == "--count":
            count = int(args[i + 1]); i += 1
        elif args[i] == "--ready":
            ready = args[i + 1]; i += 1
        i += 1
    ws = connect(url)
    subscribe(ws, msm, prb, backlog)
    n = 0
    with open(out, "w") as f:
        while count is None or n < count:
            try:
                m = ws.recv()
            except websocket.WebSocketConnectionClosedException:
                print("closed after %d results" % n, file=sys.stderr)
                return 1
            if m.startswith(PREFIX):
                f.write(m[len(PREFIX):-1] + "\n")
                f.flush()
                n += 1
                continue
            t = json.loads(m)
            if t[0] == "atlas_subscribed":
                if ready:
                    open(ready, "w").close()
                continue
            print("unexpected: %s" % m[:300], file=sys.stderr)
            return 1
    ws.close()
    return 0


def stall(args):
    url, msm, ready, go, out = args[0], int(args[1]), args[2], args[3], args[4]
    ws = connect(url, rcvbuf=4096)
    subscribe(ws, msm)
    t = json.loads(ws.recv())
    if t[0] != "atlas_subscribed":
        return 1
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.1)
    last, n = None, 0
    try:
        while True:
            m = ws.recv()
            if not m:
                break
            last = m
            n += 1
    except (websocket.WebSocketConnectionClosedException, OSError):
        pass
    with open(out, "w") as f:
        f.write("%s\n%d\n" % (last, n))
    return 0


def bad(args):
    url, out = args[0], args[1]
    ws = connect(url)
    msgs = [
        "not json",
        "{}",
        '["atlas_subscribe"]',
        '["atlas_subscribe", {"stream_type": "result"}]',
        '["atlas_subscribe", {"stream_type": "probestatus", "msm": 1}]',
        '["atlas_subscribe", {"stream_type": "result", "msm": -5}]',
        '["atlas_subscribe", {"stream_type": "result", "msm": "12x"}]',
        '["atlas_subscribe", {"stream_type": "result", "msm": 1, "prb": "x"}]',
        '["atlas_subscribe", {"stream_type": "result", "msm": 1, "sendBacklog": 3}]',
        '["atlas_frobnicate", {"stream_type": "result", "msm": 1}]',
        '["atlas_unsubscribe", {"stream_type": "result", "msm": 77}]',
    ]
    with open(out, "w") as f:
        for m in msgs:
            ws.send(m)
            f.write(ws.recv() + "\n")
        # still served after the refusals: streamType is accepted too
        ws.send('["atlas_subscribe", {"streamType": "result", "msm": 77}]')
        f.write(ws.recv() + "\n")
        ws.send('["atlas_unsubscribe", {"streamType": "result", "msm": 77}]')
        f.write(ws.recv() + "\n")
    ws.close()
    return 0


if __name__ == "__main__":
    mode = sys.argv[1]
    sys.exit({"sub": sub, "stall": stall, "bad": bad}[mode](sys.argv[2:]))
