#!/bin/bash
# System tags refresh bench: the scheduler's vt_refresh_system_tags() (every
# pass, controller/scheduler/sched.c) over BENCH_PROBES probes (10,000 by
# default) with migration 032 (tags computed once per probe, no row
# trigger) beside the migrations up to 031 (004's refresh: the tags twice
# per probe, a third time in the row trigger of each probe that changes),
# in a second database of the same cluster, same run, in turns:
#  - a pass where no probe's tags changed (the usual one);
#  - a pass where every probe's tags changed (written stale with the
#    triggers off just before).
# Each figure is the median of BENCH_REPS (5) calls in one backend (the
# scheduler keeps its connection, and so the function's plan); beside it
# in parentheses, the number of probes changed as the function returned
# it (old, new).
#   BENCH_PROBES  probes (default 10000)
#   BENCH_REPS    calls per figure (default 5)
. "$(dirname "$0")/../lib.sh"
N=${BENCH_PROBES:-10000}
REPS=${BENCH_REPS:-5}
t_setup
t_pg_start >/dev/null || exit 1
OLD=$(t_pg_db_upto vantage_031 31) || exit 1

# Probes as integration/session_tags_plan makes them: a mix of own v4 and
# v6 addresses, anchors, virtual probes, results old and recent, other
# system tags; sessions from v4 and v6 addresses, a tenth without one.
cat >"$T/data.sql" <<EOF
\set ON_ERROR_STOP 1
INSERT INTO probes (id, key_type, pubkey, address_v4, address_v6,
                    is_anchor, is_virtual, v6_ok_at, system_tags)
  SELECT i, 'ssh-ed25519', 'k' || i,
         CASE WHEN i % 2 = 0 THEN ('10.9.' || (i / 250) || '.' || (i % 250 + 1))::inet END,
         CASE WHEN i % 5 = 0 THEN ('2001:db8::' || to_hex(i))::inet END,
         i % 7 = 0, i % 9 = 0,
         CASE WHEN i % 6 = 0 THEN extract(epoch FROM now())::bigint - 172800
              WHEN i % 11 = 0 THEN extract(epoch FROM now())::bigint - 3600 END,
         CASE WHEN i % 8 = 0 THEN '{system-resolves-a-correctly}'::text[]
              ELSE '{}' END
  FROM generate_series(1, $N) i;
INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr, connected)
  SELECT i, 's' || i, 40000 + i,
         CASE WHEN i % 3 = 0 THEN ('2001:db8:1::' || to_hex(i))::inet
              ELSE ('192.0.2.' || (i % 250 + 1))::inet END, true
  FROM generate_series(1, $N) i WHERE i % 10 <> 9;
SELECT vt_refresh_system_tags() >= 0 AS ok \gset
VACUUM ANALYZE probes;
VACUUM ANALYZE probe_sessions;
EOF
psql "$VANTAGE_DB" -qtAX -f "$T/data.sql" >/dev/null || exit 1
psql "$OLD" -qtAX -f "$T/data.sql" >/dev/null || exit 1

# One backend per database, REPS rounds; a round times a pass with nothing
# to change, then makes every probe's tags stale and times a pass.
{
	echo '\set ON_ERROR_STOP 1'
	echo '\timing on'
	echo 'SELECT vt_refresh_system_tags();'
	for _ in $(seq "$REPS"); do
		echo '\echo @none'
		echo 'SELECT vt_refresh_system_tags();'
		echo "SET session_replication_role = replica;"
		echo "UPDATE probes SET system_tags = system_tags || '{system-virtual}'::text[];"
		echo "RESET session_replication_role;"
		echo 'VACUUM probes;'
		echo '\echo @all'
		echo 'SELECT vt_refresh_system_tags();'
		echo 'VACUUM probes;'
	done
} >"$T/bench.sql"
run() { # CONNINFO -> "none all": medians in ms, and the changed count of the last pass
	psql "$1" -qtAX -f "$T/bench.sql" 2>&1 | awk '
		/^@/ { k = substr($1, 2); next }
		k != "" && /^[0-9]+$/ { n[k] = $1; next }
		k != "" && /^Time: / { t[k, ++c[k]] = $2; k = ""; next }
		function med(k,   i, j, x, m) {
			m = c[k]
			for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
				if (t[k, j] < t[k, i]) { x = t[k, i]; t[k, i] = t[k, j]; t[k, j] = x }
			return m % 2 ? t[k, (m + 1) / 2] : (t[k, m / 2] + t[k, m / 2 + 1]) / 2
		}
		END { printf "%.1f %.1f %d %d\n", med("none"), med("all"), n["none"], n["all"] }'
}
read -r o_none o_all o_nn o_na < <(run "$OLD")
read -r n_none n_all n_nn n_na < <(run "$VANTAGE_DB")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-40s %10s %10s %7s\n' "vt_refresh_system_tags(), $N probes" "004 (031)" "032" "ratio"
line() { printf '%-40s %8s ms %8s ms %6.1fx\n' "$1" "$2" "$3" "$(awk "BEGIN { print $2 / ($3 > 0 ? $3 : 0.001) }")"; }
line "a pass, no tags changed ($o_nn, $n_nn)" "$o_none" "$n_none"
line "a pass, all tags changed ($o_na, $n_na)" "$o_all" "$n_all"
