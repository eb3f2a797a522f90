#!/bin/bash
# tests/integration/api_results_archive.sh - measurements/{id}/results/
# through vantage-api and the planner: a range over archived days (hot rows
# expired), a day both archived and still hot, and hot days is, byte for
# byte, the stored results, each once, in (timestamp, probe) order, for one
# probe, several and all, as format=json (one array) and format=txt (one
# per line); a corrupt archive object aborts the chunked response (the
# client sees a broken transfer, never a clean end) and the log names the
# object and segment; a client that hangs up ends the request.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
. "$TOP/tests/helpers/api_lib.sh"
command -v openssl >/dev/null || t_skip "openssl is not installed"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
for d in 2026-01-05 2026-01-06 2026-01-07 2026-01-20 2026-01-21; do
	arc_day "$d"
done
want() { t_psql "SELECT result FROM results WHERE $1 ORDER BY ts, prb_id, digest"; }
want "msm_id = 1000002" >"$T/want.all"
want "msm_id = 1000002 AND prb_id = 1004" >"$T/want.one"
want "msm_id = 1000002 AND prb_id IN (1000, 1003, 1007)" >"$T/want.some"
s=$(date -u -d "2026-01-06 13:00" +%s); e=$(date -u -d "2026-01-20 02:30" +%s)
want "msm_id = 1000001 AND ts BETWEEN $s AND $e" >"$T/want.window"
want "msm_id = 1000003 AND day < '2026-01-06'" >"$T/want.3before"
arc_run --now 2026-03-01 --day 2026-01-05 2>"$T/log" &&
arc_run --now 2026-03-01 --day 2026-01-06 2>>"$T/log" &&
arc_run --now 2026-01-25 --day 2026-01-07 2>>"$T/log"
t_check "two archived days expired, one archived and still hot" [ "$(t_psql "
	SELECT count(*) FROM archive_objects WHERE expired IS NULL AND day = '2026-01-07'")" -ge 1 ]

api_start --store "file://$T/store"
get() { curl -sS --fail "$API_HTTP/api/v2/measurements/$1"; }
same() { cmp -s "$1" "$2" && [ "$(sort "$2" | uniq -d | wc -l)" = 0 ]; }

get "1000002/results/?format=txt" >"$T/got.all"
t_check "txt: all probes, archived and hot days, byte for byte, each once" \
	same "$T/want.all" "$T/got.all"
get "1000002/results?probe_ids=1004&format=txt" >"$T/got.one"
t_check "txt: one probe" same "$T/want.one" "$T/got.one"
get "1000002/results/?probe_ids=1007,1000,1003&format=txt" >"$T/got.some"
t_check "txt: several probes" same "$T/want.some" "$T/got.some"
get "1000001/results/?start=$s&stop=$e&format=txt" >"$T/got.window"
t_check "txt: start and stop inside days, both inclusive" same "$T/want.window" "$T/got.window"
get "1000002/results/" >"$T/got.json"
t_check "json: one array of the same results" \
	cmp -s <(jq -c '.[]' "$T/got.json") <(jq -c . "$T/want.all")
t_check "json: the array is the lines joined by commas" \
	cmp -s "$T/got.json" <(printf '['; paste -sd, "$T/want.all" | tr -d '\n'; printf ']')
t_check "json: a probe with no results is []" \
	test "$(get "1000002/results/?probe_ids=4242")" = "[]"
t_check "anchors_only with no anchors is []" \
	test "$(get "1000002/results/?anchors_only=true")" = "[]"
VANTAGE_API_CA="$T/cert.pem" "$BIN/vantage" results 1000002 --probe 1004 \
	--api "$API_HTTPS" >"$T/got.cli"
t_check "vantage results --api over HTTPS: the same stream" same "$T/want.one" "$T/got.cli"

# A client that reads the first bytes and hangs up.
/usr/bin/python3 - "$API_HPORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v2/measurements/1000002/results/ HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(1000)
s.close()
PY
gone() { grep -q 'GET /api/v2/measurements/1000002/results/ 200 .*(client gone)' "$T/api.log"; }
t_check "a client that hangs up ends its request (logged as gone)" t_wait 30 gone

# Damage: a corrupt segment of 01-06.
KEY6=results/2026/01/06
read -r off clen < <(t_psql "SELECT off, clen FROM archive_index i JOIN archive_objects o
	ON o.id = i.object_id WHERE i.msm_id = 1000003 AND i.prb_id = 1005
	AND i.day = '2026-01-06'" | tr '|' ' ')
printf '\x55' | dd of="$T/store/$KEY6/1000003.bz2" bs=1 seek=$((off + clen / 2)) conv=notrunc status=none
curl -sS "$API_HTTP/api/v2/measurements/1000003/results/?format=txt" >"$T/got.bad" 2>"$T/curl.err"
rc=$?
t_check "a corrupt object aborts the chunked response (curl exit $rc)" test $rc -ne 0
t_check "what came before is exactly the days before the bad one" \
	cmp -s "$T/got.bad" "$T/want.3before"
t_check "the log names the object and the segment" \
	grep -q "results of 1000003: .*$KEY6/1000003.bz2: segment 5 (probe 1005" "$T/api.log"
t_check "vantage results --api fails on it" \
	sh -c "! '$BIN/vantage' results 1000003 --api '$API_HTTP' >/dev/null 2>&1"
t_check "the daemon still serves" test "$(get "1000002/results/?probe_ids=1004&format=txt" | wc -l)" = \
	"$(wc -l <"$T/want.one")"

# Results larger than libmicrohttpd's connection buffer (a chunk is about
# 40 KiB) between small ones: each goes out whole, across several chunks.
t0=$(date -u -d "2026-01-21 10:00" +%s)
t_psql "INSERT INTO measurements (id, type, is_oneoff) VALUES (1000020, 'ping', false);
        INSERT INTO results (msm_id, prb_id, ts, day, stored, digest, result)
        SELECT 1000020, p, $t0 + k, '2026-01-21', $t0 + k + 60, decode(md5(p::text || k), 'hex'),
               format('{\"msm_id\":1000020,\"prb_id\":%s,\"timestamp\":%s,\"type\":\"ping\",\"pad\":\"%s\"}',
                      p, $t0 + k, repeat('x', CASE WHEN (p + k) % 3 = 0 THEN 150000 + k * 977 ELSE k END))
        FROM generate_series(1000, 1003) p, generate_series(0, 5) k"
want "msm_id = 1000020" >"$T/want.big"
get "1000020/results/?format=txt" >"$T/got.big"
t_check "txt: results of 150 KB among small ones, byte for byte" same "$T/want.big" "$T/got.big"
get "1000020/results/" >"$T/got.bigjson"
t_check "json: the same, one array" \
	cmp -s "$T/got.bigjson" <(printf '['; paste -sd, "$T/want.big" | tr -d '\n'; printf ']')
t_done
