#!/bin/bash
# The archive round trip: results stored hot, archived, read back per probe
# and per day byte for byte; bzip2 -dc decodes whole objects and every
# indexed segment alone; the windows, --dry-run, idempotent reruns, expiry
# with partition drop, and clear errors on damaged objects.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
arc_day $DAY
for m in 1000001 1000002 1000003; do
	arc_hot "day = '$DAY' AND msm_id = $m" >"$T/hot.$m"
done
for m in 1000010 1000011; do
	t_psql "SELECT result FROM results WHERE day = '$DAY' AND msm_id = $m
	        ORDER BY ts, prb_id, digest" >"$T/hot.$m"
done
hot_rows=$(t_psql "SELECT count(*) FROM results")
t_log "hot rows: $hot_rows"

arc_run --now 2026-01-19 2>"$T/log"
t_check "inside the late window nothing is archived" \
	[ "$(t_psql 'SELECT count(*) FROM archive_objects')" = 0 ]
arc_run --now 2026-01-25 --dry-run 2>"$T/log"
t_check "--dry-run says what it would archive" grep -q "would archive $KEYDIR/1000001.bz2" "$T/log"
t_check "--dry-run changes nothing" \
	[ "$(t_psql 'SELECT count(*) FROM archive_objects')" = 0 -a ! -e "$T/store" ]

t_check "archiver runs past the late window" arc_run --now 2026-01-25
t_check "four objects, all verified" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE verified IS NOT NULL AND day = '$DAY'")" = 4 ]
t_check "objects have the keys of the design" \
	test -f "$T/store/$KEYDIR/1000001.bz2" -a -f "$T/store/$KEYDIR/oneoff.bz2"
t_check "hot rows stay during the safety margin" \
	[ "$(t_psql 'SELECT count(*) FROM results')" = "$hot_rows" ]
t_check "one segment per probe" \
	[ "$(t_psql "SELECT count(*) FROM archive_index WHERE msm_id = 1000002")" = 12 ]
t_check "one segment per one-off measurement" \
	[ "$(t_psql "SELECT count(*), count(prb_id) FROM archive_index i JOIN archive_objects o ON o.id = i.object_id WHERE o.msm_id IS NULL")" = "2|0" ]

for m in 1000001 1000002 1000003; do
	t_check "bzip2 -dc decodes object $m to the hot rows in probe order" \
		cmp -s <(bzip2 -dc "$T/store/$KEYDIR/$m.bz2") "$T/hot.$m"
done
t_check "bzip2 -dc decodes the one-off object" \
	cmp -s <(bzip2 -dc "$T/store/$KEYDIR/oneoff.bz2") <(cat "$T/hot.1000010" "$T/hot.1000011")
t_check "object sizes and SHA-256 match the index" bash -c '
	while IFS="|" read -r key size sha; do
		[ "$(stat -c %s "'"$T"'/store/$key")" = "$size" ] || exit 1
		[ "$(sha256sum <"'"$T"'/store/$key" | cut -d" " -f1)" = "$sha" ] || exit 1
	done < <(psql "$VANTAGE_DB" -qtAX -c "SELECT key, size, sha256 FROM archive_objects")'
bad=0
while IFS='|' read -r key off clen rlen count; do
	dd if="$T/store/$key" of="$T/seg" bs=1 skip="$off" count="$clen" status=none
	got=$(bzip2 -dc <"$T/seg" | wc -c)
	lines=$(bzip2 -dc <"$T/seg" | wc -l)
	[ "$got" = "$rlen" ] && [ "$lines" = "$count" ] || bad=$((bad + 1))
done < <(t_psql "SELECT o.key, off, clen, rlen, count FROM archive_index i
                 JOIN archive_objects o ON o.id = i.object_id
                 WHERE o.msm_id IN (1000002) OR o.msm_id IS NULL")
t_check "each segment decodes alone to its raw length and count" [ "$bad" = 0 ]

for m in 1000001 1000002 1000003 1000010 1000011; do
	arc_get $m --day $DAY >"$T/got.$m" 2>"$T/err"
	t_check "archive get $m --day: same lines, byte for byte" cmp -s "$T/got.$m" "$T/hot.$m"
done
ok=1
for p in 1000 1005 1011; do
	arc_get 1000003 --day $DAY --probe $p --stats >"$T/got" 2>"$T/err" || ok=0
	arc_hot "day = '$DAY' AND msm_id = 1000003 AND prb_id = $p" | cmp -s - "$T/got" || ok=0
	grep -q "segments=1 requests=1 " "$T/err" || ok=0
done
t_check "archive get --probe: that probe's lines from one segment and one read" [ "$ok" = 1 ]
arc_get 1000011 --day $DAY --probe 1004 >"$T/got"
t_check "archive get --probe on a one-off" cmp -s "$T/got" \
	<(t_psql "SELECT result FROM results WHERE day = '$DAY' AND msm_id = 1000011 AND prb_id = 1004 ORDER BY ts")
s=$(date -u -d "$DAY 06:00" +%s); e=$(date -u -d "$DAY 07:30" +%s)
arc_get 1000001 --day $DAY --start $s --stop $e >"$T/got"
t_check "archive get --start --stop filters by time" cmp -s "$T/got" \
	<(arc_hot "day = '$DAY' AND msm_id = 1000001 AND ts BETWEEN $s AND $e")
arc_get 1000001 --day 2026-01-04 >/dev/null 2>"$T/err"
t_check "a day not archived is a clear error" grep -q "not in the archive" "$T/err"

cp -r "$T/store" "$T/store.ok"
arc_run --now 2026-01-26 2>"$T/log"
t_check "rerun is idempotent (no new object, same bytes)" \
	bash -c "[ \$(psql '$VANTAGE_DB' -qtAX -c 'SELECT count(*) FROM archive_objects') = 4 ] && diff -r '$T/store' '$T/store.ok'"

t_check "expiry after the margin" arc_run --now 2026-02-03
t_check "hot rows of the archived day are gone" [ "$(t_psql 'SELECT count(*) FROM results')" = 0 ]
t_check "the empty day partition is dropped" \
	[ "$(t_psql "SELECT count(*) FROM pg_class WHERE relname = 'results_20260105'")" = 0 ]
arc_get 1000002 --day $DAY >"$T/got"
t_check "still readable from the archive after expiry" cmp -s "$T/got" "$T/hot.1000002"

# Damage: flip one byte inside probe 1005's segment of 1000003.
read -r off clen < <(t_psql "SELECT off, clen FROM archive_index WHERE msm_id = 1000003 AND prb_id = 1005" | tr '|' ' ')
obj="$T/store/$KEYDIR/1000003.bz2"
printf '\x55' | dd of="$obj" bs=1 seek=$((off + clen / 2)) conv=notrunc status=none
arc_get 1000003 --day $DAY --probe 1005 >"$T/got" 2>"$T/err"
t_check "a corrupted segment is an error" [ $? -ne 0 ]
t_check "the error names object and segment" grep -q "$KEYDIR/1000003.bz2: segment 5 (probe 1005" "$T/err"
t_check "no line of a bad segment is printed" [ ! -s "$T/got" ]
t_log "$(cat "$T/err")"
arc_get 1000003 --day $DAY --probe 1004 >"$T/got"
t_check "other segments of the object still read" cmp -s "$T/got" \
	<(grep '"prb_id":1004,' "$T/hot.1000003")
cp "$T/store/$KEYDIR/1000001.bz2" "$obj"
arc_get 1000003 --day $DAY --probe 1002 >"$T/got" 2>"$T/err"
t_check "a replaced object is an error, not wrong data" [ $? -ne 0 -a ! -s "$T/got" ]
t_log "$(cat "$T/err")"
truncate -s 1000 "$T/store/$KEYDIR/1000002.bz2"
arc_get 1000002 --day $DAY --probe 1011 >"$T/got" 2>"$T/err"
t_check "a truncated object is an error" [ $? -ne 0 -a ! -s "$T/got" ]
t_check "the truncation error names the object" grep -q "1000002.bz2" "$T/err"
t_log "$(cat "$T/err")"
t_done
