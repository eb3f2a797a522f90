#!/usr/bin/python3
"""page_check.py - loads one page in Debian's headless chromium and reports
what a reader would see: console messages and errors, failed requests, the
DOM's text, and a PNG screenshot.

    page_check.py URL SCREENSHOT.png DOM.html [WIDTH HEIGHT]

Prints one JSON object: {"errors": [...], "console": [...], "requests":
[...urls other than URL...], "failed": [...]}.  Chromium runs headless
with a fresh profile in a temporary folder, no sandbox (root), no GPU, no
background networking, and is driven over the DevTools protocol (CDP)
with python3-websocket.  Exit 0 when the page loaded, 1 otherwise."""
import base64, json, os, shutil, subprocess, sys, tempfile, time
import websocket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main():
    url, shot, dom = sys.argv[1:4]
    w = sys.argv[4] if len(sys.argv) > 4 else "1280"
    h = sys.argv[5] if len(sys.argv) > 5 else "1400"
    prof = tempfile.mkdtemp(prefix="vantage-chromium.")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--disable-default-apps",
         "--user-data-dir=" + prof, "--remote-debugging-port=0",
         "--window-size=%s,%s" % (w, h), "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    report = {"errors": [], "console": [], "requests": [], "failed": []}
    ok = False
    try:
        # Chromium names its DevTools port in DevToolsActivePort.
        port_file = os.path.join(prof, "DevToolsActivePort")
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            if proc.poll() is not None:
                raise RuntimeError("chromium exited: " + proc.stderr.read()[-2000:])
            time.sleep(0.1)
        port, path = open(port_file).read().split("\n")[:2]
        # A page target: the browser endpoint creates one.
        ws = websocket.create_connection("ws://127.0.0.1:%s%s" % (port, path), timeout=60)
        seq = [0]

        def send(method, params=None, session=None):
            seq[0] += 1
            msg = {"id": seq[0], "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            ws.send(json.dumps(msg))
            return seq[0]

        events = []

        def wait(mid):
            while True:
                m = json.loads(ws.recv())
                if m.get("id") == mid:
                    if "error" in m:
                        raise RuntimeError(json.dumps(m["error"]))
                    return m.get("result", {})
                events.append(m)

        tid = wait(send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        sid = wait(send("Target.attachToTarget", {"targetId": tid, "flatten": True}))["sessionId"]
        for d in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            wait(send(d, session=sid))
        wait(send("Page.navigate", {"url": url}, session=sid))
        loaded = False
        deadline = time.time() + 60
        while time.time() < deadline and not loaded:
            m = json.loads(ws.recv())
            events.append(m)
            loaded = m.get("method") == "Page.loadEventFired"
        # Anything logged right after the load event.
        wait(send("Runtime.evaluate", {"expression": "document.readyState"}, session=sid))
        html = wait(send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML",
                                              "returnByValue": True}, session=sid))
        open(dom, "w").write(html["result"]["value"])
        png = wait(send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                        session=sid))
        open(shot, "wb").write(base64.b64decode(png["data"]))
        for m in events:
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                report["console"].append({"level": p.get("type"), "text": text})
                if p.get("type") in ("error", "assert"):
                    report["errors"].append(text)
            elif meth == "Runtime.exceptionThrown":
                report["errors"].append(p["exceptionDetails"].get("text", "exception"))
            elif meth == "Log.entryAdded":
                e = p["entry"]
                report["console"].append({"level": e.get("level"), "text": e.get("text")})
                if e.get("level") == "error":
                    report["errors"].append(e.get("text"))
            elif meth == "Network.requestWillBeSent":
                u = p["request"]["url"]
                if u != url:
                    report["requests"].append(u)
            elif meth == "Network.loadingFailed":
                report["failed"].append(p.get("errorText"))
            elif meth == "Network.responseReceived" and p["response"]["status"] >= 400:
                report["errors"].append("HTTP %d %s" % (p["response"]["status"], p["response"]["url"]))
        ok = loaded
        if not loaded:
            report["errors"].append("no load event within 60 s")
        ws.close()
    except Exception as e:  # reported, not raised: the caller checks
        report["errors"].append("page_check: %s" % e)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(prof, ignore_errors=True)
    print(json.dumps(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
