#!/bin/bash
# The planner bench's data: `archive_gen --object` makes a measurement-day
# straight into the archive, and must make exactly what vantage-archiver
# makes of the same day loaded hot (the same object bytes, the same index
# rows and object row), so the bench measures real archive objects.  The
# planner then reads the made day back byte for byte in time order.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
SPEC=1000001:ping:900
arc_partition $DAY
arc_load $DAY 12 1000 $SPEC
t_psql "SELECT result FROM results WHERE msm_id = 1000001 ORDER BY ts, prb_id" >"$T/hot.time"
arc_run --now 2026-02-03 2>"$T/log"
t_check "the archiver archived and expired the day" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE expired IS NOT NULL")" = 1 ]
cols="seg, msm_id, prb_id, off, clen, rlen, count, first_ts, last_ts, crc"
t_psql "SELECT $cols FROM archive_index ORDER BY seg" >"$T/idx.arc"
t_psql "SELECT day, msm_id, key, size, sha256, etag, segments, results, raw_bytes
        FROM archive_objects" >"$T/obj.arc"
cp "$T/store/$KEYDIR/1000001.bz2" "$T/arc.bz2"
t_psql "DELETE FROM archive_objects"

"$GEN" --object "file://$T/store2" $DAY 12 1000 $SPEC >"$T/gen.sql" 2>"$T/log"
t_check "archive_gen --object writes the object" test -s "$T/store2/$KEYDIR/1000001.bz2"
t_check "its SQL indexes the object" \
	psql "$VANTAGE_DB" -qX -1 -v ON_ERROR_STOP=1 -f "$T/gen.sql"
t_check "the same object bytes as the archiver's" cmp "$T/arc.bz2" "$T/store2/$KEYDIR/1000001.bz2"
t_check "the same index rows" \
	diff "$T/idx.arc" <(t_psql "SELECT $cols FROM archive_index ORDER BY seg")
t_check "the same object row" \
	diff "$T/obj.arc" <(t_psql "SELECT day, msm_id, key, size, sha256, etag, segments,
	                            results, raw_bytes FROM archive_objects")
t_check "verified and expired, as the planner reads it" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE verified IS NOT NULL
	             AND expired IS NOT NULL")" = 1 ]
d0=$(date -u -d $DAY +%s)
"$BIN/vantage" results 1000001 --start "$d0" --stop $((d0 + 86399)) \
	--store "file://$T/store2" >"$T/out" 2>"$T/log"
t_check "the planner reads the made day as it was stored, in time order" cmp "$T/hot.time" "$T/out"
t_check "--object with two specs is refused" \
	sh -c "! '$GEN' --object 'file://$T/store3' $DAY 2 1 $SPEC 1000002:dns:300 2>/dev/null"
t_done
