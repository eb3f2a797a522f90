#!/bin/bash
# tests/integration/api_catchment.sh - the catchment of a DNS measurement
# (storage/catchment.h) through vantage-api, the CLI and the page, over an
# archived day and a hot day of results whose abufs are real NSD replies
# (hostname.bind and NSID) naming two sites:
#   - GET measurements/{id}/catchment/: per site (probes, results, median
#     and p90 RTT, countries, ASNs), per probe, and each change of site with
#     the last result before and the first after; the archived day counts;
#     start/stop and probe_ids narrow it; ping=ID joins a ping measurement;
#   - refusals: an unknown measurement (404), a ping measurement (400), a
#     bad ping parameter (400), a DNS measurement as ping (400), a private
#     measurement without a key (403);
#   - `vantage catchment` on the database and with --api: the same view
#     (--json), and its table and changes as text;
#   - /catchment/{id} in headless chromium: loads with no console error and
#     no request beyond the page, its DOM names every site and probe, and a
#     screenshot is taken ($T/catchment.png, kept with T_KEEP=1).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
. "$TOP/tests/helpers/api_lib.sh"
for c in openssl jq curl; do command -v "$c" >/dev/null || t_skip "$c is not installed"; done
[ -x "$BIN/vantage-api" ] && [ -x "$BIN/vantage-archiver" ] || t_skip "build first (make)"
t_setup
# jqf FILE FILTER: the filter holds on the JSON file
jqf() { jq -e "$2" "$1" >/dev/null; }
t_pg_start || t_skip "cannot start PostgreSQL"

DNS=1000003 PING=1000001 PRIV=1000004
t_psql "INSERT INTO measurements (id, type, af, is_oneoff, is_public) VALUES
	($PING, 'ping', 6, false, true), ($DNS, 'dns', 6, false, true),
	($PRIV, 'dns', 6, false, false);
	INSERT INTO probes (id, key_type, pubkey, country_code, asn_v4, asn_v6) VALUES
	(1000, 'ssh-ed25519', 'k0', 'NL', 64496, 65000),
	(1001, 'ssh-ed25519', 'k1', 'DE', 64497, 65001),
	(1002, 'ssh-ed25519', 'k2', 'NL', 64498, NULL)" >/dev/null
arc_partition 2026-01-05
arc_partition 2026-01-06
D1=$(date -u -d 2026-01-05 +%s)
D2=$(date -u -d 2026-01-06 +%s)
MOVE=$((D2 + 6 * 3600)) BACK=$((D2 + 12 * 3600)) GAP=$((D2 + 18 * 3600))
# Two days, a result every 600 s per probe: 1000 always at site-a, 1002 at
# site-b (one timeout), 1001 at site-a, at site-b from MOVE, back at BACK.
/usr/bin/python3 - "$D1" "$MOVE" "$BACK" "$GAP" "$DNS" "$PING" "$PRIV" >"$T/rows.sql" <<'PY'
import base64, hashlib, json, sys, datetime
d1, move, back, gap, dns, ping, priv = map(int, sys.argv[1:])
# NSD 4's reply to hostname.bind CH TXT with NSID: "site-a.lab" / "site-a"
A = base64.b64decode("eXKAAAABAAEAAAABCGhvc3RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAACwpzaXRlLWEu"
                     "bGFiAAApBNAAAAAAAAoAAwAGc2l0ZS1h")
B = A.replace(b"site-a", b"site-b")
print("BEGIN;")
def row(msm, prb, ts, res):
    res.update({"msm_id": msm, "prb_id": prb, "timestamp": ts, "af": 6, "fw": 5120})
    j = json.dumps(res, separators=(",", ":"))
    day = datetime.datetime.utcfromtimestamp(ts).strftime("%Y-%m-%d")
    dg = hashlib.sha256(j.encode()).hexdigest()
    print("INSERT INTO results VALUES (%d,%d,%d,'%s',%d,'\\x%s','%s');" % (msm, prb, ts, day, ts, dg, j))
for ts in range(d1, d1 + 2 * 86400, 600):
    for prb in (1000, 1001, 1002):
        if prb == 1002 and ts == gap:
            row(dns, prb, ts, {"type": "dns", "error": {"timeout": 5000}})
            continue
        site = A if prb == 1000 or (prb == 1001 and not move <= ts < back) else B
        rt = {1000: 1.0, 1001: 2.0 if site == A else 9.0, 1002: 5.0}[prb] + (ts // 600 % 5) * 0.1
        abuf = base64.b64encode(site).decode()
        row(dns, prb, ts, {"type": "dns", "result": {"rt": round(rt, 3), "size": len(site), "abuf": abuf}})
        if prb == 1000:
            row(priv, prb, ts, {"type": "dns", "result": {"rt": 1.0, "abuf": abuf}})
    if ts >= d1 + 86400 and ts % 3600 == 0:
        for prb, avg in ((1000, 10.0), (1001, 20.0), (1002, 30.0)):
            row(ping, prb, ts, {"type": "ping", "avg": avg, "min": avg, "max": avg,
                                "sent": 3, "rcvd": 3, "dst_addr": "2001:db8:53::53"})
print("COMMIT;")
PY
psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 -f "$T/rows.sql" >/dev/null
t_check "results loaded" [ "$(t_psql "SELECT count(*) FROM results WHERE msm_id = $DNS")" = 864 ]
arc_run --now 2026-03-01 --day 2026-01-05 2>"$T/archiver.log"
t_check "day 1 archived and its hot rows expired" \
	[ "$(t_psql "SELECT count(*) FROM results WHERE day = '2026-01-05'")" = 0 ]

api_start --store "file://$T/store"
get() { curl -sS "$API_HTTP$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$API_HTTP$1"; }
C=/api/v2/measurements/$DNS/catchment
get "$C/" >"$T/all.json"
jqt() { jqf "$T/all.json" "$1"; }
t_check "both days count (the archived one through the planner): 864 results" jqt '.results == 864'
t_check "863 named a site, one timeout" jqt '.answered == 863 and .unanswered == 1'
t_check "two sites, by name" jqt '[.sites[].site] == ["site-a.lab", "site-b.lab"]'
t_check "site-a: probes 1000 and 1001 now, countries DE NL, ASNs of af 6" \
	jqt '.sites[0] | .probes == [1000, 1001] and .countries == ["DE", "NL"] and .asns == [65000, 65001]'
t_check "site-b: probe 1002, its IPv4 ASN when it has no IPv6 one" \
	jqt '.sites[1] | .probes == [1002] and .asns == [64498] and .countries == ["NL"]'
# site-a: 288 of 1000 + 252 of 1001; site-b: 287 of 1002 + 36 of 1001
t_check "results per site" jqt '.sites[0].results == 540 and .sites[1].results == 323'
t_check "site-a median and p90 RTT (nearest rank)" jqt '.sites[0].rtt_median == 1.4 and .sites[0].rtt_p90 == 2.3'
t_check "site-b median and p90 RTT (the moved probe's slower answers)" jqt '.sites[1].rtt_median == 5.2 and .sites[1].rtt_p90 == 9.0'
t_check "probe 1001 now: site-a, its newest rt and time, 2 changes" \
	jqt ".probes[1] | .prb_id == 1001 and .site == \"site-a.lab\" and .timestamp == $((D1 + 2 * 86400 - 600)) and .changes == 2 and .country_code == \"DE\""
t_check "the two changes, each with the last result before and the first after" \
	jqt "[.changes[] | [.prb_id, .from, .to, .last_before, .first_after]] == [[1001, \"site-a.lab\", \"site-b.lab\", $((MOVE - 600)), $MOVE], [1001, \"site-b.lab\", \"site-a.lab\", $((BACK - 600)), $BACK]]"
t_check "a timeout is no change" jqt '.probes[2].changes == 0 and .probes[2].unanswered == 1'

get "$C/?start=$D2&stop=$((MOVE + 3000))&probe_ids=1001,1002" >"$T/win.json"
t_check "start, stop and probe_ids narrow it: one change, two probes" \
	jqf "$T/win.json" "(.probes | map(.prb_id)) == [1001, 1002] and (.changes | length) == 1 and .results == 2 * $(( (MOVE + 3000 - D2) / 600 + 1 ))"
get "$C?ping=$PING" >"$T/ping.json"
t_check "ping joined: each probe's mean ping and per-site median" \
	jqf "$T/ping.json" '.ping_msm_id == 1000001 and ([.probes[].ping_avg] == [10, 20, 30]) and .sites[0].ping_median == 10 and .sites[0].ping_p90 == 20 and .sites[1].ping_median == 30'

t_check "an unknown measurement: 404" [ "$(code /api/v2/measurements/99999/catchment/)" = 404 ]
t_check "a ping measurement: 400 with the pointer id" \
	sh -c "curl -s '$API_HTTP/api/v2/measurements/$PING/catchment/' | jq -e '.error.status == 400 and .error.errors[0].source.parameter == \"id\"' >/dev/null"
t_check "a DNS measurement as ping: 400 (ping)" \
	sh -c "curl -s '$API_HTTP$C/?ping=$DNS' | jq -e '.error.status == 400 and .error.errors[0].source.parameter == \"ping\"' >/dev/null"
t_check "ping=x: 400" [ "$(code "$C/?ping=x")" = 400 ]
t_check "start after stop: 400" [ "$(code "$C/?start=10&stop=5")" = 400 ]
t_check "a private measurement without a key: 403" [ "$(code /api/v2/measurements/$PRIV/catchment/)" = 403 ]
t_check "no catchment of unknown paths (404)" [ "$(code /api/v2/measurements/$DNS/catchmentx/)" = 404 ]

# The CLI on the database (through the planner) and through the API.
V() { "$BIN/vantage" --db "$VANTAGE_DB" "$@"; }
V catchment $DNS --json --store "file://$T/store" >"$T/cli.json"
t_check "vantage catchment --json (database) is the API's view" \
	cmp -s <(jq -S . "$T/all.json") <(jq -S . "$T/cli.json")
VANTAGE_API_CA="$T/cert.pem" V catchment $DNS --json --api "$API_HTTPS" >"$T/cli2.json"
t_check "vantage catchment --api over HTTPS: the same" \
	cmp -s <(jq -S . "$T/all.json") <(jq -S . "$T/cli2.json")
V catchment $DNS --store "file://$T/store" >"$T/cli.txt"
cat "$T/cli.txt" | sed 's/^/# /' | head -30
t_check "text: the per-site table" \
	grep -Eq '^site-a\.lab +2 +540 +1\.400 +2\.300 +DE,NL +65000,65001' "$T/cli.txt"
t_check "text: each change with both times" \
	grep -Eq "^1001 +site-a\.lab +site-b\.lab +2026-01-06 05:50:00 \\($((MOVE - 600))\\) +2026-01-06 06:00:00 \\($MOVE\\)" "$T/cli.txt"
t_check "vantage catchment of a ping measurement fails" sh -c "! '$BIN/vantage' --db '$VANTAGE_DB' catchment $PING >/dev/null 2>&1"

# The page.
get "/catchment/$DNS" >"$T/page.html"
t_check "the page: text/html" sh -c "curl -sI '$API_HTTP/catchment/$DNS/' | grep -qi '^content-type: text/html'"
t_check "the page names no outside asset (no src=, no http URL but SVG's namespace)" \
	sh -c "! grep -Eo '(src=|href=\"http|url\\(|<script)' '$T/page.html' | grep -q ."
t_check "unknown page id: 404" [ "$(code /catchment/99999)" = 404 ]
if command -v chromium >/dev/null; then
	/usr/bin/python3 "$TOP/tests/helpers/page_check.py" "$API_HTTP/catchment/$DNS?ping=$PING" \
		"$T/catchment.png" "$T/dom.html" >"$T/page.json"
	t_log "chromium: $(cat "$T/page.json")"
	t_check "chromium loads the page with no console error" jqf "$T/page.json" '.errors == []'
	t_check "and fetches nothing beyond it" jqf "$T/page.json" '.requests == [] and .failed == []'
	for s in site-a.lab site-b.lab; do
		t_check "its DOM shows site $s in the bars, the tables and the strip" \
			test "$(grep -o ">$s<" "$T/dom.html" | wc -l)" -ge 4
	done
	t_check "its DOM lists each probe" sh -c "grep -q '>probe 1000<' '$T/dom.html' && grep -q '>probe 1002<' '$T/dom.html'"
	t_check "a screenshot was taken" sh -c "[ \$(stat -c %s '$T/catchment.png') -gt 10000 ]"
	[ -n "${VANTAGE_ARTIFACTS:-}" ] && cp "$T/catchment.png" "$VANTAGE_ARTIFACTS/api_catchment.png"
else
	t_log "chromium is not installed: the page is not loaded in a browser"
fi
t_done
