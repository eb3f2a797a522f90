#!/bin/bash
# The archive in an S3-compatible store (s3rver from npm, on loopback):
# written with SigV4-signed PUTs, verified, read back; one probe's day is
# one Range GET of exactly the segment's length (s3rver logs each request
# with its status and size).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
command -v node >/dev/null 2>&1 || t_skip "node is not installed"
t_pg_start || t_skip "cannot start PostgreSQL"
arc_s3rver
arc_measurements
arc_day $DAY
S3=s3://vantage/archive
sget() { "$BIN/vantage" archive get --store "$S3" "$@"; }

t_check "archive into S3" "$BIN/vantage-archiver" --store "$S3" --now 2026-01-25 2>"$T/log"
t_check "four objects, verified" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE verified IS NOT NULL AND store = '$S3'")" = 4 ]
t_check "the store's ETag is recorded (MD5 of the object)" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE etag ~ '^[0-9a-f]{32}$'")" = 4 ]
obj=$(find "$T/s3" -path "*archive/$KEYDIR/1000001.bz2*" -type f -name '*object*' | head -1)
[ -n "$obj" ] || obj=$(find "$T/s3" -type f -path "*1000001.bz2*" | head -1)
t_check "bzip2 -dc decodes the object s3rver stored" \
	cmp -s <(bzip2 -dc "$obj" 2>/dev/null) <(arc_hot "day = '$DAY' AND msm_id = 1000001")

for m in 1000002 1000011; do
	sget $m --day $DAY >"$T/got"
	t_check "archive get $m from S3 equals the hot rows" cmp -s "$T/got" \
		<(t_psql "SELECT result FROM results WHERE day = '$DAY' AND msm_id = $m
		          ORDER BY CASE WHEN msm_id = 1000011 THEN 0 ELSE prb_id END, ts, prb_id, digest")
done

clen=$(t_psql "SELECT clen FROM archive_index WHERE msm_id = 1000003 AND prb_id = 1006")
: >"$T/s3rver.log.mark"; lines_before=$(wc -l <"$T/s3rver.log")
sget 1000003 --day $DAY --probe 1006 --stats >"$T/got" 2>"$T/err"
t_check "one probe's day from S3 equals the hot rows" cmp -s "$T/got" \
	<(arc_hot "day = '$DAY' AND msm_id = 1000003 AND prb_id = 1006")
t_check "one request of exactly the segment's length" \
	grep -q "segments=1 requests=1 bytes=$clen " "$T/err"
sleep 0.3
tail -n +$((lines_before + 1)) "$T/s3rver.log" | sed 's/\x1b\[[0-9;]*m//g' >"$T/s3new"
t_log "s3rver: $(cat "$T/s3new")"
t_check "s3rver saw one GET, answered 206" \
	[ "$(grep -c '1000003.bz2 206 ' "$T/s3new")" = 1 -a "$(grep -c 'bz2' "$T/s3new")" = 1 ]

AWS_ACCESS_KEY_ID=NOBODY sget 1000003 --day $DAY --probe 1006 >"$T/got" 2>"$T/err"
t_check "an unknown access key is a clear error" grep -q "InvalidAccessKeyId" "$T/err"
t_log "$(cat "$T/err")"
t_done
