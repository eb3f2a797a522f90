#!/bin/bash
# Reads over HTTP: nginx serves the folder store; one probe's day is one
# Range request of exactly the segment's length (nginx's access log says
# so), a whole day is one request, a truncated object is a clear error.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
arc_day $DAY
t_check "archive the day" arc_run --now 2026-01-25 2>/dev/null
arc_nginx "$T/store"
: >"$NGINX_LOG"
hget() { "$BIN/vantage" archive get --store "$NGINX_URL" "$@"; }

read -r off clen < <(t_psql "SELECT off, clen FROM archive_index
	WHERE msm_id = 1000002 AND prb_id = 1007" | tr '|' ' ')
hget 1000002 --day $DAY --probe 1007 --stats >"$T/got" 2>"$T/err"
t_check "one probe's day over HTTP equals the hot rows" cmp -s "$T/got" \
	<(arc_hot "day = '$DAY' AND msm_id = 1000002 AND prb_id = 1007")
t_log "access log: $(cat "$NGINX_LOG")"
t_check "exactly one request reached nginx" [ "$(wc -l <"$NGINX_LOG")" = 1 ]
t_check "it asked for exactly the segment's bytes" \
	grep -q "^GET /$KEYDIR/1000002.bz2 \"bytes=$off-$((off + clen - 1))\" 206 $clen\$" "$NGINX_LOG"

: >"$NGINX_LOG"
size=$(t_psql "SELECT size FROM archive_objects WHERE msm_id = 1000003")
hget 1000003 --day $DAY >"$T/got"
t_check "a whole day over HTTP equals the hot rows" cmp -s "$T/got" \
	<(arc_hot "day = '$DAY' AND msm_id = 1000003")
t_check "adjacent segments merged into one request for the whole object" \
	grep -q "^GET /$KEYDIR/1000003.bz2 \"bytes=0-$((size - 1))\" 206 $size\$" "$NGINX_LOG"
t_check "...and only one" [ "$(wc -l <"$NGINX_LOG")" = 1 ]

hget 1000010 --day $DAY >"$T/got"
t_check "a one-off over HTTP" cmp -s "$T/got" \
	<(t_psql "SELECT result FROM results WHERE day = '$DAY' AND msm_id = 1000010 ORDER BY ts, prb_id")

truncate -s 2000 "$T/store/$KEYDIR/1000001.bz2"
hget 1000001 --day $DAY --probe 1011 >"$T/got" 2>"$T/err"
t_check "a truncated object over HTTP is an error" [ $? -ne 0 -a ! -s "$T/got" ]
t_check "the error names the object" grep -q "$KEYDIR/1000001.bz2" "$T/err"
t_log "$(cat "$T/err")"
rm "$T/store/$KEYDIR/1000002.bz2"
hget 1000002 --day $DAY --probe 1001 >"$T/got" 2>"$T/err"
t_check "a missing object over HTTP is an error" grep -q "HTTP 404" "$T/err"
t_done
