#!/bin/bash
# Planner bench: a long range of one measurement (PLANNER_BENCH_DAYS
# archived days, 30 by default, and 2 hot days; PLANNER_BENCH_PROBES
# probes, 1000 by default; a ping every PLANNER_BENCH_INTERVAL seconds, 900
# by default: 96 results per probe and day) streamed in (timestamp, probe) order, beside references
# measured in the same run:
#  - the whole range vs `bzip2 -dc` of the same objects plus a
#    `COPY ... TO STDOUT` of the same hot rows (rate goal: >= 0.7 of the
#    reference's), with the streamer's peak RSS (goal: < 64 MiB);
#  - one probe's archived day over HTTP (nginx) vs a bare Range GET of the
#    same segment piped into `bzip2 -dc` (first byte and total, medians of
#    15 runs; goal: total <= 1.5x).
#
# What streams is a parameter, so that the same figures can be taken
# through another reader (e.g. the API):
#   PLANNER_BENCH_STREAM  shell command for the whole range; {msm}, {start},
#                         {stop} are replaced (default: vantage results)
#   PLANNER_BENCH_PROBE   shell command for one probe's day; {msm}, {probe},
#                         {start}, {stop} and {http} (the nginx URL of the
#                         store) are replaced (default: vantage results
#                         --store {http})
#   PLANNER_BENCH_HOOK    shell command run once the data is in place, with
#                         VANTAGE_DB and VANTAGE_ARCHIVE (file://) exported
#                         (e.g. to start a server); when it prints a pid,
#                         that process's peak RSS (VmHWM) is the one reported.
#
# The data (a day of 1,000 probes is 96,000 results, ~40 MB raw) is made
# once (the archived days straight into the store, see below) and
# kept in PLANNER_BENCH_CACHE (build/bench-cache by default; PLANNER_BENCH_
# CACHE=none makes it afresh each time): a dump of the database and the
# archive store, named by the sizes and a hash of what makes them (the
# migrations, the generator, the archiver's sources).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../integration/archive_common.inc"
H=${VANTAGE_TESTBIN:-$TOP/build/tests}
PROBES=${PLANNER_BENCH_PROBES:-1000}
NDAYS=${PLANNER_BENCH_DAYS:-30}
EVERY=${PLANNER_BENCH_INTERVAL:-900}
MSM=1000001
FIRST=2026-01-01
t_setup
arc_need
t_pg_start || { echo "cannot start PostgreSQL"; exit 1; }
export VANTAGE_ARCHIVE="file://$T/store"
last=$(date -u -d "$FIRST + $((NDAYS - 1)) days" +%F)
CACHE=${PLANNER_BENCH_CACHE:-$TOP/build/bench-cache}
made=$(cat "$TOP"/storage/migrations/*.sql "$TOP"/tests/helpers/archive_gen.c \
	"$TOP"/storage/archive*.c "$TOP"/storage/archiver/*.c 2>/dev/null | sha1sum | cut -c1-12)
CDIR=$CACHE/planner-$PROBES-$NDAYS-$EVERY-$made
if [ "$CACHE" != none ] && [ -f "$CDIR/done" ]; then
	# The cached data: the dump into a database of its own, the store as is
	# (it is only read).
	t_psql "CREATE DATABASE bench" >/dev/null
	VANTAGE_DB="$VANTAGE_DB dbname=bench"
	pg_restore -d "$VANTAGE_DB" --no-owner "$CDIR/db.dump" 2>"$T/restore.log" ||
		{ echo "restoring $CDIR/db.dump failed"; cat "$T/restore.log"; exit 1; }
	ln -s "$CDIR/store" "$T/store"
	t_psql "VACUUM ANALYZE"
else
arc_measurements

# Archived days, made straight into the store with their index (the
# archiver's own compression on 2 threads, archive_gen --object): what the
# archiver makes of the same hot rows, without loading and archiving them.
i=0
while [ $i -lt "$NDAYS" ]; do
	d=$(date -u -d "$FIRST + $i days" +%F)
	"$GEN" --object "$VANTAGE_ARCHIVE" "$d" "$PROBES" 10000 "$MSM:ping:$EVERY" |
		psql "$VANTAGE_DB" -qX -1 -v ON_ERROR_STOP=1 >/dev/null 2>"$T/log" ||
		{ echo "making the archive of $d failed"; cat "$T/log"; exit 1; }
	i=$((i + 1))
done
[ "$(t_psql "SELECT count(DISTINCT day) FROM archive_objects WHERE expired IS NOT NULL")" = "$NDAYS" ] ||
	{ echo "archiving failed"; exit 1; }
# Two hot days after them.
for k in 1 2; do
	d=$(date -u -d "$last + $k days" +%F)
	arc_partition "$d"
	arc_load "$d" "$PROBES" 10000 "$MSM:ping:$EVERY"
done
t_psql "VACUUM ANALYZE results"
if [ "$CACHE" != none ]; then
	rm -rf "$CDIR.tmp"
	mkdir -p "$CDIR.tmp"
	pg_dump -Fc -f "$CDIR.tmp/db.dump" "$VANTAGE_DB" &&
		cp -a "$T/store" "$CDIR.tmp/store" && touch "$CDIR.tmp/done" &&
		rm -rf "$CDIR" && mv "$CDIR.tmp" "$CDIR" ||
		echo "warning: could not keep the data in $CDIR"
fi
fi
start=$(date -u -d "$FIRST" +%s)
stop=$(( $(date -u -d "$last + 3 days" +%s) - 1 ))
hot=$(t_psql "SELECT count(*) FROM results")
echo "range: $NDAYS archived days ($(t_psql "SELECT sum(results) FROM archive_objects") results," \
	"$(t_psql "SELECT sum(size) FROM archive_objects") bytes stored) and 2 hot days ($hot results)," \
	"$PROBES probes, $((86400 / EVERY)) results per probe and day"

hook_pid=
if [ -n "${PLANNER_BENCH_HOOK:-}" ]; then
	hook_pid=$(sh -c "$PLANNER_BENCH_HOOK" | head -1)
	case "$hook_pid" in *[!0-9]*) hook_pid= ;; esac
fi

# The reference: bzip2 -dc of the objects, then COPY of the hot rows.
objs=$(t_psql "SELECT key FROM archive_objects WHERE msm_id = $MSM ORDER BY day" | sed "s|^|$T/store/|" | tr '\n' ' ')
read -r _ b_ms b_bytes < <("$H/archive_ttfb" 1 "bzip2 -dc $objs")
read -r _ c_ms c_bytes < <("$H/archive_ttfb" 1 "psql '$VANTAGE_DB' -qX -c \"COPY (SELECT result FROM results WHERE msm_id = $MSM) TO STDOUT\"")
ref_ms=$(awk "BEGIN { print $b_ms + $c_ms }")
ref_bytes=$((b_bytes + c_bytes))

tmpl=${PLANNER_BENCH_STREAM:-"'$BIN/vantage' results {msm} --start {start} --stop {stop}"}
cmd=${tmpl//\{msm\}/$MSM}; cmd=${cmd//\{start\}/$start}; cmd=${cmd//\{stop\}/$stop}
read -r s_first s_ms s_bytes s_rss < <("$H/archive_ttfb" 1 "$cmd" rss)
[ -n "$s_ms" ] || { echo "the stream failed: $cmd"; exit 1; }
[ "$s_bytes" = "$ref_bytes" ] || echo "warning: outputs differ ($s_bytes vs $ref_bytes bytes)"
if [ -n "$hook_pid" ]; then
	s_rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$hook_pid/status")
fi
printf 'long range (%d bytes): planner first byte %.0f ms, %.1f MB/s vs bzip2 -dc + COPY %.1f MB/s (%.1f + %.1f s): ratio %.2f (goal >= 0.7); peak RSS %.1f MiB (goal < 64)\n' \
	"$s_bytes" "$s_first" "$(awk "BEGIN { print $s_bytes / $s_ms / 1000 }")" \
	"$(awk "BEGIN { print $ref_bytes / $ref_ms / 1000 }")" \
	"$(awk "BEGIN { print $b_ms / 1000 }")" "$(awk "BEGIN { print $c_ms / 1000 }")" \
	"$(awk "BEGIN { print ($s_bytes / $s_ms) / ($ref_bytes / $ref_ms) }")" \
	"$(awk "BEGIN { print ${s_rss:-0} / 1024 }")"

# One probe's archived day over HTTP.
arc_nginx "$T/store"
day=$(date -u -d "$FIRST + 1 day" +%F)
probe=10007
read -r key off clen < <(t_psql "SELECT o.key, off, clen FROM archive_index i JOIN archive_objects o
	ON o.id = i.object_id WHERE i.msm_id = $MSM AND i.prb_id = $probe AND i.day = '$day'" | tr '|' ' ')
d0=$(date -u -d "$day" +%s)
tmpl=${PLANNER_BENCH_PROBE:-"'$BIN/vantage' results {msm} --probe {probe} --start {start} --stop {stop} --store '{http}'"}
cmd=${tmpl//\{msm\}/$MSM}; cmd=${cmd//\{probe\}/$probe}; cmd=${cmd//\{start\}/$d0}
cmd=${cmd//\{stop\}/$((d0 + 86399))}; cmd=${cmd//\{http\}/$NGINX_URL}
read -r a_first a_total a_bytes < <("$H/archive_ttfb" 15 "$cmd")
read -r c_first c_total c_bytes < <("$H/archive_ttfb" 15 "curl -s -r $off-$((off + clen - 1)) '$NGINX_URL/$key' | bzip2 -dc")
[ "$a_bytes" = "$c_bytes" ] || echo "warning: outputs differ ($a_bytes vs $c_bytes bytes)"
printf 'one probe-day over HTTP (%d bytes compressed, %d raw): planner first byte %.1f ms, total %.1f ms; curl Range + bzip2 -dc first byte %.1f ms, total %.1f ms: ratios %.2f and %.2f (goal <= 1.5)\n' \
	"$clen" "$a_bytes" "$a_first" "$a_total" "$c_first" "$c_total" \
	"$(awk "BEGIN { print $a_first / $c_first }")" "$(awk "BEGIN { print $a_total / $c_total }")"
