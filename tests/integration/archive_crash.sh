#!/bin/bash
# Crash tests: the archiver is stopped (exit 137, as by kill -9) between PUT
# and index, after the index, during verification and during expiry; each
# rerun leaves exactly one archived copy of every object, reads back the
# hot rows byte for byte, and hot rows go only after a passing check.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
t_setup
arc_need
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements

# Each case uses its own day, archived as of D+15 and expired as of D+40.
case_day() { date -u -d "2026-03-01 + $1 day" +%F; }

# check_day DAY: one object per measurement and one segment per probe, no
# stray files, reads equal the saved hot rows.
check_day() {
	local d=$1 ok=1 dir m
	[ "$(t_psql "SELECT count(*), count(DISTINCT key) FROM archive_objects WHERE day = '$d'")" = "4|4" ] || ok=0
	[ "$(t_psql "SELECT count(*) FROM archive_index WHERE day = '$d' AND msm_id = 1000001")" = 12 ] || ok=0
	[ "$(t_psql "SELECT count(*) FROM archive_index WHERE day = '$d'")" = 38 ] || ok=0
	dir="$T/store/results/$(echo "$d" | tr - /)"
	[ "$(ls "$dir" | wc -l)" = 4 ] || ok=0
	for m in 1000001 1000002 1000003; do
		arc_get $m --day "$d" | cmp -s - "$T/hot.$d.$m" || ok=0
	done
	[ $ok = 1 ]
}

save_hot() {
	for m in 1000001 1000002 1000003; do
		arc_hot "day = '$1' AND msm_id = $m" >"$T/hot.$1.$m"
	done
}

hot_count() { t_psql "SELECT count(*) FROM results WHERE day = '$1'"; }

n=0
for point in after-put after-put:3 after-index during-verify during-expiry after-expiry; do
	n=$((n + 1))
	cd=$(case_day $n)
	arc_day "$cd"
	save_hot "$cd"
	hot=$(hot_count "$cd")
	now=$(date -u -d "$cd + 15 day" +%F)
	case $point in during-expiry|after-expiry)
		arc_run --day "$cd" --now "$now" 2>/dev/null
		now=$(date -u -d "$cd + 40 day" +%F) ;;
	esac
	VANTAGE_ARCHIVER_CRASH_AT=$point arc_run --day "$cd" --now "$now" 2>"$T/log"
	rc=$?
	t_check "$point: the archiver stopped there (exit $rc)" [ $rc = 137 ]
	case $point in
	after-put*)
		t_check "$point: the object is stored but not indexed" \
			[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE day = '$cd'")" -lt 4 ] ;;
	during-expiry)
		t_check "$point: the expiry transaction left every hot row" \
			[ "$(hot_count "$cd")" = "$hot" ] ;;
	esac
	gone=$(t_psql "SELECT coalesce(sum(results), 0) FROM archive_objects
	               WHERE day = '$cd' AND expired IS NOT NULL AND verified IS NOT NULL")
	t_check "$point: hot rows gone only for verified, expired objects" \
		[ $(( $(hot_count "$cd") + gone )) = "$hot" ]
	t_check "$point: the rerun succeeds" arc_run --day "$cd" --now "$now" 2>>"$T/log"
	t_check "$point: one copy of each object, complete and byte-exact" check_day "$cd"
	case $point in during-expiry|after-expiry)
		t_check "$point: hot rows gone after the rerun" [ "$(hot_count "$cd")" = 0 ] ;;
	*)
		t_check "$point: hot rows kept during the margin" [ "$(hot_count "$cd")" = "$hot" ] ;;
	esac
done

# A damaged object is never the reason hot rows go: stop after the index,
# damage the object, then run as of a time when expiry is due.
cd=$(case_day 20)
arc_day "$cd"
save_hot "$cd"
hot=$(hot_count "$cd")
VANTAGE_ARCHIVER_CRASH_AT=after-index arc_run --day "$cd" --now "$(date -u -d "$cd + 40 day" +%F)" 2>/dev/null
key=$(t_psql "SELECT key FROM archive_objects WHERE day = '$cd' ORDER BY id LIMIT 1")
truncate -s -7 "$T/store/$key"
arc_run --day "$cd" --now "$(date -u -d "$cd + 40 day" +%F)" 2>"$T/log"
t_check "a damaged object fails its check" [ $? != 0 ]
t_log "$(grep -m1 'err' "$T/log")"
t_check "no hot row of that day went" [ "$(hot_count "$cd")" = "$hot" ]
t_check "its index was dropped so the next run writes it again" \
	[ "$(t_psql "SELECT count(*) FROM archive_objects WHERE key = '$key'")" = 0 ]
t_check "the next run archives, verifies and expires" \
	arc_run --day "$cd" --now "$(date -u -d "$cd + 40 day" +%F)"
t_check "one copy of each object, complete" check_day "$cd"
t_check "now the hot rows are gone" [ "$(hot_count "$cd")" = 0 ]

# Two archivers at once: the second one refuses (advisory lock).  The
# lock is held from the moment it is granted until the check is done (an
# event each way, not a pause that a loaded machine could overrun).
rm -f "$T/release"
(
	printf 'SELECT pg_advisory_lock(7245385090);\n\\echo locked\n'
	t_wait 300 test -e "$T/release"
) | psql "$VANTAGE_DB" -qtAX >"$T/lock.out" 2>&1 &
t_check "another session holds the archiver's lock" t_wait 60 grep -qx locked "$T/lock.out"
arc_run --now 2026-06-01 2>"$T/log"
t_check "a second archiver refuses to run alongside" grep -q "another archiver is running" "$T/log"
touch "$T/release"
wait
t_done
