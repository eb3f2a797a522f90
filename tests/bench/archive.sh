#!/bin/bash
# Archive bench: a generated day of RIPE-like results (ping, traceroute,
# dns at 480, 1800 and 600 s; ARCHIVE_BENCH_PROBES probes, 1000 by
# default) archived by
# vantage-archiver, beside references measured in the same run:
#  - throughput vs plain libbz2 -9 on both cores over the same bytes
#    (goal: >= 0.8);
#  - object size vs `bzip2 -9` of the whole day in one stream, in the
#    order results arrive (time order; goal: <= 1.05), and in probe order;
#  - one probe's day over HTTP (nginx): `vantage archive get --probe` vs a
#    plain Range GET of the same bytes piped into bzip2 -dc (time to first
#    byte and total, medians of 15 runs).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../integration/archive_common.inc"
H=${VANTAGE_TESTBIN:-$TOP/build/tests}
PROBES=${ARCHIVE_BENCH_PROBES:-1000}
t_setup
arc_need
t_pg_start || { echo "cannot start PostgreSQL"; exit 1; }
arc_measurements
arc_partition $DAY
arc_load $DAY "$PROBES" 10000 1000001:ping:480 1000002:traceroute:1800 1000003:dns:600
t_psql "ANALYZE results"
# The bytes the archive holds: per measurement, by probe then time.
t_psql "SELECT result FROM results ORDER BY msm_id, prb_id, ts, digest" >"$T/probe-order"
t_psql "SELECT result FROM results ORDER BY ts, msm_id, prb_id" >"$T/time-order"
raw=$(stat -c %s "$T/probe-order")
rows=$(t_psql "SELECT count(*) FROM results")
echo "day: $rows results, $PROBES probes, $raw bytes raw"

read -r ref_s _ < <("$H/archive_bzref" "$T/probe-order" 2)
t0=$(date +%s.%N)
"$BIN/vantage-archiver" --store "file://$T/store" --now 2026-01-25 --threads 2 2>"$T/log" ||
	{ cat "$T/log"; exit 1; }
t1=$(date +%s.%N)
arc_s=$(awk "BEGIN { print $t1 - $t0 }")
grep -q "4 verified\|3 verified" "$T/log" || { cat "$T/log"; exit 1; }
printf 'throughput: archiver %.1f MB/s (store, index, read back, verify included) vs libbz2 -9 on 2 cores %.1f MB/s: ratio %.2f (goal >= 0.8)\n' \
	"$(awk "BEGIN { print $raw / $arc_s / 1000000 }")" "$(awk "BEGIN { print $raw / $ref_s / 1000000 }")" \
	"$(awk "BEGIN { print $ref_s / $arc_s }")"

obj=$(t_psql "SELECT sum(size) FROM archive_objects")
bz_time=$(bzip2 -9 -c "$T/time-order" | wc -c)
bz_probe=$(bzip2 -9 -c "$T/probe-order" | wc -c)
printf 'segments: %d, %d bytes raw on average (small segments pay more stream overhead)\n' \
	"$(t_psql "SELECT count(*) FROM archive_index")" "$(t_psql "SELECT avg(rlen)::bigint FROM archive_index")"
printf 'size: objects %d bytes vs bzip2 -9 of the day in time order %d: ratio %.3f (goal <= 1.05); vs in probe order %d: ratio %.3f\n' \
	"$obj" "$bz_time" "$(awk "BEGIN { print $obj / $bz_time }")" "$bz_probe" "$(awk "BEGIN { print $obj / $bz_probe }")"

arc_nginx "$T/store"
read -r off clen < <(t_psql "SELECT off, clen FROM archive_index WHERE msm_id = 1000002 AND prb_id = 10007" | tr '|' ' ')
url="$NGINX_URL/$KEYDIR/1000002.bz2"
read -r a_first a_total a_bytes < <("$H/archive_ttfb" 15 "'$BIN/vantage' archive get 1000002 --day $DAY --probe 10007 --store '$NGINX_URL'")
read -r c_first c_total c_bytes < <("$H/archive_ttfb" 15 "curl -s -r $off-$((off + clen - 1)) '$url' | bzip2 -dc")
[ "$a_bytes" = "$c_bytes" ] || echo "warning: outputs differ ($a_bytes vs $c_bytes bytes)"
printf 'one probe-day over HTTP (%d bytes compressed, %d raw): vantage archive get first byte %.1f ms, total %.1f ms; curl Range + bzip2 -dc first byte %.1f ms, total %.1f ms: total ratio %.2f\n' \
	"$clen" "$a_bytes" "$a_first" "$a_total" "$c_first" "$c_total" "$(awk "BEGIN { print $a_total / $c_total }")"
