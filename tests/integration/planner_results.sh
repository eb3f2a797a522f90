#!/bin/bash
# The results planner through `vantage results`: a range over archived
# days (hot rows expired), a day both archived and still hot (the safety
# margin) and hot days gives, byte for byte, the stored results, each once,
# in (timestamp, probe) order, for one probe, several and all, periodic and
# one-off; time bounds inside days; missing, truncated and corrupt objects
# end the stream with an error naming object and segment, never with wrong
# or silently missing lines.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
# Archived and expired: 01-05, 01-06; archived, still hot: 01-07;
# hot only: 01-20, 01-21.
DAYS="2026-01-05 2026-01-06 2026-01-07 2026-01-20 2026-01-21"
for d in $DAYS; do
	arc_day "$d"
done
# What the stream must give: every stored row, in (ts, prb_id, digest) order.
want() { # SQL-WHERE
	t_psql "SELECT result FROM results WHERE $1 ORDER BY ts, prb_id, digest"
}
for m in 1000001 1000002 1000003 1000010 1000011; do
	want "msm_id = $m" >"$T/want.$m"
done
want "msm_id = 1000002 AND prb_id = 1004" >"$T/want.one"
want "msm_id = 1000002 AND prb_id IN (1000, 1003, 1007, 1011)" >"$T/want.some"
want "msm_id = 1000011 AND prb_id IN (1004, 1006)" >"$T/want.oneoff_some"
s=$(date -u -d "2026-01-06 13:00" +%s); e=$(date -u -d "2026-01-20 02:30" +%s)
want "msm_id = 1000001 AND ts BETWEEN $s AND $e" >"$T/want.window"
want "msm_id = 1000003 AND prb_id IN (1002, 1009) AND ts BETWEEN $s AND $e" >"$T/want.window_some"
# For the damage checks below (hot rows of 01-05 and 01-06 go at expiry).
want "msm_id = 1000003 AND day < '2026-01-06'" >"$T/want.3before"
want "msm_id = 1000002 AND day < '2026-01-06'" >"$T/want.2before"
want "msm_id = 1000003 AND prb_id = 1004" >"$T/want.3one"
want "msm_id = 1000001 AND prb_id = 1001" >"$T/want.1one"
t_log "results stored: $(t_psql 'SELECT count(*) FROM results')"

arc_run --now 2026-03-01 --day 2026-01-05 2>"$T/log" &&
arc_run --now 2026-03-01 --day 2026-01-06 2>>"$T/log" &&
arc_run --now 2026-01-25 --day 2026-01-07 2>>"$T/log"
t_check "archiver makes two expired days and one still hot" [ "$(t_psql "
	SELECT string_agg(day || ':' || e, ',' ORDER BY day) FROM (SELECT day,
	bool_and(expired IS NOT NULL) AS e FROM archive_objects GROUP BY day) x")" = \
	"2026-01-05:true,2026-01-06:true,2026-01-07:false" ]
t_check "hot rows of 01-07 are still there" \
	[ "$(t_psql "SELECT count(*) FROM results WHERE day = '2026-01-07'")" -gt 0 ]
t_check "hot rows of 01-05 and 01-06 are gone" \
	[ "$(t_psql "SELECT count(*) FROM results WHERE day < '2026-01-07'")" = 0 ]

res() { "$BIN/vantage" results --store "file://$T/store" "$@"; }
# same FILE-WANT FILE-GOT: byte for byte, and no line twice.
same() { cmp -s "$1" "$2" && [ "$(sort "$2" | uniq -d | wc -l)" = 0 ]; }

for m in 1000001 1000002 1000003 1000010 1000011; do
	res $m --stats >"$T/got.$m" 2>"$T/stats.$m"
	t_check "msm $m, all probes, all days: the stored results in order, each once" \
		same "$T/want.$m" "$T/got.$m"
done
t_log "$(cat "$T/stats.1000002")"
t_check "01-07 is read once, from the archive (3 archived days, 2 hot)" \
	grep -q "days_hot=2 days_archived=3 " "$T/stats.1000002"
# 2 to plan, 1 per archived day, at least 2 per hot day of 4320 rows.
t_check "a hot day is read in several chunks" bash -c \
	"[ \$(sed -n 's/.*statements=\([0-9]*\).*/\1/p' '$T/stats.1000001') -ge 9 ]"
res 1000002 --probe 1004 >"$T/got.one"
t_check "one probe across archived and hot days" same "$T/want.one" "$T/got.one"
res 1000002 --probe 1011,1000 --probe 1003,1007,1003 >"$T/got.some"
t_check "several probes across archived and hot days" same "$T/want.some" "$T/got.some"
res 1000011 --probe 1006,1004 >"$T/got.oneoff_some"
t_check "several probes of a one-off (probes filtered inside a segment)" \
	same "$T/want.oneoff_some" "$T/got.oneoff_some"
res 1000001 --start "$s" --stop "$e" >"$T/got.window"
t_check "start and stop inside days, both inclusive" same "$T/want.window" "$T/got.window"
res 1000003 --probe 1009,1002 --start "$s" --stop "$e" >"$T/got.window_some"
t_check "a time window and a probe list" same "$T/want.window_some" "$T/got.window_some"
res 1000002 --probe 4242 >"$T/got.none"
t_check "a probe that has no results: nothing, and success" [ $? = 0 -a ! -s "$T/got.none" ]
res 1000002 --start 1 --stop 1000 >"$T/got.none"
t_check "a range before everything: nothing, and success" [ $? = 0 -a ! -s "$T/got.none" ]
t_check "in time order (numbers checked)" bash -c "
	sed 's/.*\"prb_id\":\([0-9]*\),.*\"timestamp\":\([0-9]*\),.*/\2 \1/' '$T/got.1000002' |
	sort -c -k1,1n -k2,2n"
VANTAGE_ARCHIVE="file://$T/store" "$BIN/vantage" results 1000003 >"$T/got.env"
t_check "the store may come from VANTAGE_ARCHIVE" same "$T/want.1000003" "$T/got.env"
"$BIN/vantage" results 1000003 >"$T/got" 2>"$T/err"
t_check "archived days without a store: an error, not missing data" \
	[ $? -ne 0 -a ! -s "$T/got" ]
t_check "the error says the store is missing" grep -q "no archive store" "$T/err"
"$BIN/vantage" results 1000003 --start "$(date -u -d 2026-01-20 +%s)" >"$T/got" 2>"$T/err"
t_check "hot days need no store" cmp -s "$T/got" \
	<(want "msm_id = 1000003 AND day >= '2026-01-20'")
res 1000002 --start 5 --stop 4 >/dev/null 2>&1
t_check "start after stop is refused" [ $? -ne 0 ]

# Damage.  Lines of the days before the bad one may have gone out; the
# stream must stop with an error there, and never print a wrong line.
KEY6=results/2026/01/06
prefix_of() { # FILE-GOT FILE-WANT: got is a prefix of want
	cmp -s "$1" <(head -c "$(stat -c %s "$1")" "$2")
}
cp -r "$T/store" "$T/store.ok"
read -r off clen < <(t_psql "SELECT off, clen FROM archive_index i JOIN archive_objects o
	ON o.id = i.object_id WHERE i.msm_id = 1000003 AND i.prb_id = 1005 AND i.day = '2026-01-06'" | tr '|' ' ')
printf '\x55' | dd of="$T/store/$KEY6/1000003.bz2" bs=1 seek=$((off + clen / 2)) conv=notrunc status=none
res 1000003 >"$T/got" 2>"$T/err"
t_check "a corrupt segment ends the stream with an error" [ $? -ne 0 ]
t_check "the error names object and segment" \
	grep -q "$KEY6/1000003.bz2: segment 5 (probe 1005, bytes $off+$clen)" "$T/err"
t_log "$(cat "$T/err")"
t_check "what came before is exactly the days before the bad one" \
	cmp -s "$T/got" "$T/want.3before"
res 1000003 --probe 1004 >"$T/got" 2>"$T/err"
t_check "other probes of that object still read" \
	same "$T/want.3one" "$T/got"

truncate -s 2000 "$T/store/$KEY6/1000002.bz2"
res 1000002 >"$T/got" 2>"$T/err"
t_check "a truncated object ends the stream with an error" [ $? -ne 0 ]
t_check "the truncation error names object and segment" \
	grep -q "$KEY6/1000002.bz2: segment [0-9]* (probe" "$T/err"
t_log "$(cat "$T/err")"
t_check "no line after the truncated object's day, none wrong" \
	prefix_of "$T/got" "$T/want.1000002"
t_check "the days before it were all there" \
	cmp -s "$T/got" "$T/want.2before"

rm "$T/store/$KEY6/1000001.bz2"
res 1000001 --probe 1001 >"$T/got" 2>"$T/err"
t_check "a missing object ends the stream with an error" [ $? -ne 0 ]
t_check "the error names the missing object" grep -q "$KEY6/1000001.bz2: segment 1 (probe 1001" "$T/err"
t_log "$(cat "$T/err")"
t_check "and nothing wrong came before it" prefix_of "$T/got" "$T/want.1one"

cp "$T/store.ok/$KEY6/1000001.bz2" "$T/store/$KEY6/1000011.bz2" 2>/dev/null
cp "$T/store.ok/$KEY6/1000002.bz2" "$T/store/$KEY6/oneoff.bz2"
res 1000011 >"$T/got" 2>"$T/err"
t_check "a replaced one-off object is an error, not wrong data" [ $? -ne 0 ]
t_check "that error names the one-off object" grep -q "$KEY6/oneoff.bz2: segment" "$T/err"
t_check "no line of the replaced day" prefix_of "$T/got" "$T/want.1000011"
t_done
