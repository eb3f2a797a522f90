#!/bin/bash
# probe_sessions bench: what PostgreSQL spends on the gateway's session
# statements for 10,000 probes, with the session triggers of migration 019
# (once per statement) beside the row triggers before it (migrations up to
# 018, in a second database of the same cluster, same run):
#  - the reset after a gateway restart: every session of the gateway
#    marked down in one statement (db.c gw_db_sessions_reset);
#  - a 64-row batch as the ctrl lane issues it (db_batch.c): sessions up
#    and probes' status in one transaction, then the bind batch; warm
#    connection, probes back from their old address;
#  - the same batch with every probe from a new address (tags recomputed);
#  - the other 9,600 sessions back in 64-row batches.
#   BENCH_SESSIONS  sessions (default 10000)
. "$(dirname "$0")/../lib.sh"
N=${BENCH_SESSIONS:-10000}
t_setup
t_pg_start >/dev/null || exit 1
OLD=$(t_pg_db_upto vantage_rowtrg 18) || exit 1

cat >"$T/bench.sql" <<EOF
\set ON_ERROR_STOP 1
INSERT INTO probes (id, key_type, pubkey, address_v4)
  SELECT i, 'ssh-ed25519', 'k' || i, ('10.1.' || (i / 250) || '.' || (i % 250 + 1))::inet
  FROM generate_series(1, $N) i;
INSERT INTO probe_sessions (probe_id, session_id, remote_port)
  SELECT i, 's' || i, 40000 + i FROM generate_series(1, $N) i;
UPDATE probe_sessions SET connected = true, gateway = 'gw1',
  from_addr = ('192.0.2.' || (probe_id % 250 + 1))::inet, bind_addr = '0.0.0.0';
UPDATE probes SET status = 1;
VACUUM ANALYZE probes;
VACUUM ANALYZE probe_sessions;
PREPARE up(int, text) AS UPDATE probe_sessions ps SET connected = true, gateway = 'gw1',
  from_addr = u.from_addr, since = now(), last_seen = now()
  FROM unnest(ARRAY(SELECT generate_series(\$1, \$1 + 63)),
              ARRAY(SELECT (\$2 || (i % 250 + 1))::inet FROM generate_series(\$1, \$1 + 63) i))
  AS u(id, from_addr) WHERE ps.probe_id = u.id;
PREPARE st(int) AS UPDATE probes SET status = 1, status_since =
  CASE WHEN status = 1 THEN status_since ELSE now() END, last_connected = now(),
  first_connected = coalesce(first_connected, now()) WHERE id BETWEEN \$1 AND \$1 + 63;
PREPARE bind(int) AS UPDATE probe_sessions ps SET bind_addr = b.bind, last_seen = now()
  FROM unnest(ARRAY(SELECT generate_series(\$1, \$1 + 63)),
              ARRAY(SELECT '0.0.0.0'::text FROM generate_series(\$1, \$1 + 63)))
  AS b(id, bind) WHERE ps.probe_id = b.id AND ps.gateway = 'gw1';
\timing on
\echo @reset
BEGIN;
WITH gone AS (UPDATE probe_sessions SET connected = false, gateway = NULL, last_seen = now()
  WHERE gateway = 'gw1' AND NOT (probe_id = ANY('{}'::integer[])) RETURNING probe_id)
UPDATE probes SET status = 2, status_since = now()
  WHERE id IN (SELECT probe_id FROM gone) AND status = 1;
COMMIT;
\echo @warmup
BEGIN; EXECUTE up($N - 191, '192.0.2.'); EXECUTE st($N - 191); COMMIT; EXECUTE bind($N - 191);
BEGIN; EXECUTE up($N - 127, '192.0.2.'); EXECUTE st($N - 127); COMMIT; EXECUTE bind($N - 127);
BEGIN; EXECUTE up($N - 63, '192.0.2.'); EXECUTE st($N - 63); COMMIT; EXECUTE bind($N - 63);
\echo @batch
BEGIN; EXECUTE up(1, '192.0.2.'); EXECUTE st(1); COMMIT;
\echo @bind
EXECUTE bind(1);
\echo @newaddr
BEGIN; EXECUTE up(65, '198.51.100.'); EXECUTE st(65); COMMIT;
\echo @rest
DO \$\$ BEGIN
  FOR b IN 2..($N - 192) / 64 - 1 LOOP
    EXECUTE format('EXECUTE up(%s, %L)', b * 64 + 1, '192.0.2.');
    EXECUTE format('EXECUTE st(%s)', b * 64 + 1);
  END LOOP; END \$\$;
\echo @end
EOF
run() { # CONNINFO -> "reset batch bind newaddr rest" in ms
	psql "$1" -qtAX -f "$T/bench.sql" 2>&1 | awk '
		/^@/ { k = substr($1, 2); next }
		/^Time: / { ms[k] += $2 }
		END { printf "%.1f %.1f %.1f %.1f %.1f\n", ms["reset"], ms["batch"],
		      ms["bind"], ms["newaddr"], ms["rest"] }'
}
read -r n_reset n_batch n_bind n_new n_rest < <(run "$VANTAGE_DB")
read -r o_reset o_batch o_bind o_new o_rest < <(run "$OLD")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %10s %10s %7s\n' "$N probe sessions" "row trg" "stmt trg" "ratio"
line() { printf '%-46s %8s ms %8s ms %6.1fx\n' "$1" "$2" "$3" "$(awk "BEGIN { print $2 / ($3 > 0 ? $3 : 0.001) }")"; }
line "reset after a restart (all down, 1 stmt)" "$o_reset" "$n_reset"
line "64-row up batch + probes (1 transaction)" "$o_batch" "$n_batch"
line "64-row bind batch" "$o_bind" "$n_bind"
line "64-row up batch, every probe a new address" "$o_new" "$n_new"
line "the rest back in 64-row up batches" "$o_rest" "$n_rest"
