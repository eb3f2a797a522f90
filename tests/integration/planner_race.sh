#!/bin/bash
# The planner while the archiver expires a day it is reading from
# `results`: the day's hot rows vanish between two of its statements
# (between two chunks, before the first, after the last), and the stream
# still holds every stored result once, in order (the day is read again
# from the archive).  tests/helpers/plan_race.c runs the archiver on a
# second connection right before the planner's Nth statement.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/archive_common.inc"
RACE=${VANTAGE_TESTBIN:-$TOP/build/tests}/plan_race
t_setup
arc_need
[ -x "$RACE" ] || t_skip "no $RACE (run make)"
t_pg_start || t_skip "cannot start PostgreSQL"
arc_measurements
for d in 2026-01-22 2026-01-23 2026-01-24; do
	arc_partition "$d"
	arc_load "$d" 12 1000 1000001:ping:240
done
t_psql "SELECT result FROM results WHERE msm_id = 1000001 ORDER BY ts, prb_id, digest" >"$T/want"
t_log "results: $(wc -l <"$T/want") ($(t_psql "SELECT count(*) FROM results WHERE day = '2026-01-22'") a day)"
race() { # DAY N
	"$RACE" 1000001 "file://$T/store" "$1" "$2" >"$T/got" 2>"$T/err"
}
# Statements: 1 plans; 01-22 is read in two chunks (2, 3) and checked (4).
race 2026-01-22 3
t_check "expired between two chunks: the stream succeeds" [ $? = 0 ]
t_log "$(cat "$T/err")"
t_check "the day was expired meanwhile, and read again from the archive" \
	grep -q "expired=1 days_hot=2 days_archived=1 days_switched=1" "$T/err"
t_check "every result once, in order, byte for byte" cmp -s "$T/want" "$T/got"
# Now 01-22 is archived (2); 01-23's first chunk is statement 3.
race 2026-01-23 3
t_check "expired before the day's first chunk: the stream succeeds" [ $? = 0 ]
t_log "$(cat "$T/err")"
t_check "read from the archive instead" \
	grep -q "expired=1 days_hot=1 days_archived=2 days_switched=1" "$T/err"
t_check "every result once, in order, byte for byte (2)" cmp -s "$T/want" "$T/got"
# 01-22 and 01-23 archived (2, 3); 01-24: chunks 4 and 5, check 6.
race 2026-01-24 6
t_check "expired after the last chunk: the stream succeeds" [ $? = 0 ]
t_log "$(cat "$T/err")"
t_check "the check after the last chunk saw it" \
	grep -q "expired=1 days_hot=0 days_archived=3 days_switched=1" "$T/err"
t_check "every result once, in order, byte for byte (3)" cmp -s "$T/want" "$T/got"
t_check "no hot rows left" [ "$(t_psql "SELECT count(*) FROM results")" = 0 ]
t_done
