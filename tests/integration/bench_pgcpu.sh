#!/bin/bash
# bench_pgcpu: the benches' PostgreSQL CPU figure (bench_pg_cpu_ms in
# tests/helpers/bench_lib.sh) counts the whole cluster: a program a live
# backend ran and reaped (COPY TO PROGRAM: a grandchild of the postmaster,
# in the backend's reaped-children time) and a backend that has ended
# (in the postmaster's).  Each burns CPU it measures itself (its own
# /proc stat as it ends); the cluster's figure must have grown by at least
# that much.  The cluster's page faults are counted the same way, and the
# whole machine's busy time (bench_machine_ms) holds the burn too.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/bench_lib.sh"
t_setup
t_pg_start >/dev/null || { t_notok "PostgreSQL starts"; t_done; exit 1; }
HZ=$(getconf CLK_TCK)
PGD=$T/pg   # (the cluster's folder: its owner can write there)
burn_ms() { sed 's/.*) //' "$1" | awk -v hz="$HZ" '{ print int(($12 + $13) * 1000 / hz) }'; }

c0=$(bench_pg_cpu_ms)
t_check "the cluster's CPU is read ($c0 ms)" [ "$c0" -ge 0 ]
read -r m0 i0 < <(bench_machine_ms)
t_check "the machine's busy time is read ($m0 ms)" [ "${m0:-0}" -gt 0 ]
t_check "the machine's idle time is read ($i0 ms)" [ "${i0:--1}" -ge 0 ]

# A backend that stays: its program burns about a second and ends.
mkfifo "$T/sql"
psql "$VANTAGE_DB" -qX <"$T/sql" >"$T/psql.out" 2>&1 &
PS=$!
t_bg $PS
exec 5>"$T/sql"
echo "COPY (SELECT 1) TO PROGRAM 'i=0; while [ \$i -lt 1500000 ]; do i=\$((i+1)); done; cat /proc/self/stat >/dev/null; cat /proc/\$\$/stat >$PGD/burn1.tmp; mv $PGD/burn1.tmp $PGD/burn1';" >&5
t_check "the backend's program ran" t_wait 300 test -s "$PGD/burn1"
b1=$(burn_ms "$PGD/burn1")
t_check "the backend is still there" kill -0 $PS
c1=$(bench_pg_cpu_ms)
t_check "a live backend's program counts ($((c1 - c0)) ms >= $b1 ms)" \
	[ $((c1 - c0)) -ge "$b1" ]

# The backend ends: what it used stays counted (now in the postmaster's).
exec 5>&-
wait $PS
c2=$(bench_pg_cpu_ms)
t_check "an ended backend still counts ($((c2 - c0)) ms >= $b1 ms)" \
	[ $((c2 - c0)) -ge "$b1" ]
t_check "the figure never goes back ($c1 -> $c2)" [ "$c2" -ge "$c1" ]
# The whole machine's busy time (bench_machine_ms) holds the burn too.
read -r m1 i1 < <(bench_machine_ms)
t_check "the machine's busy time holds the burn ($((m1 - m0)) ms >= $b1 ms)" \
	[ $((m1 - m0)) -ge "$b1" ]
t_check "the machine's idle time never goes back ($i0 -> $i1)" [ "$i1" -ge "$i0" ]

# The page faults (bench_pg_faults) are read the same way: a backend that
# sorts 64 MiB in memory touches at least 16,384 fresh pages, and ends.
f0=$(bench_pg_faults)
t_check "the cluster's page faults are read ($f0)" [ "$f0" -ge 0 ]
t_psql "SET work_mem = '256MB'; SELECT count(*) FROM (SELECT repeat('x', 1000) || g AS s
        FROM generate_series(1, 65536) g ORDER BY 1) o" >/dev/null
f1=$(bench_pg_faults)
t_check "an ended backend's faults count ($((f1 - f0)) >= 16384)" [ $((f1 - f0)) -ge 16384 ]
t_done
