"""Runs one of Debian's Blaeu tools (unchanged) against a Vantage API.

    /usr/bin/python3 blaeu_run.py TOOL API_URL [ARGS...]

Blaeu names https://atlas.ripe.net in its module (Blaeu.base_url) and has
no option for another server: this sets that one variable to
API_URL/api/v2/measurements and runs /usr/bin/TOOL as its own __main__."""
import runpy
import sys

import Blaeu

tool, api = sys.argv[1], sys.argv[2].rstrip("/")
if not api.startswith(("http://127.", "https://127.", "http://[", "https://[",
                       "http://localhost", "https://localhost")):
    sys.exit("blaeu_run: only a loopback API URL is allowed here: %s" % api)
Blaeu.base_url = api + "/api/v2/measurements"
sys.argv = ["/usr/bin/" + tool] + sys.argv[3:]
runpy.run_path("/usr/bin/" + tool, run_name="__main__")
