#!/bin/bash
# session_tags_plan: a sessions-up batch of probes connecting for the first
# time (their from_addr goes from nothing to an address, so their system
# tags change) computes the tags with a kept plan (migration 027), not by
# planning vt_system_tags's query once per probe in the probes row trigger:
# pg_stat_statements (track = all, track_planning) counts the tags query's
# executions and its plannings in one backend.  With 006's LANGUAGE sql
# function the query is parsed and planned inside every call and never
# reaches pg_stat_statements as a statement of its own.  The tags written
# are still those vt_system_tags computes.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || t_skip "no PostgreSQL"
t_psql "ALTER SYSTEM SET shared_preload_libraries = pg_stat_statements" >/dev/null
"$TOP/scripts/pg" stop "$T/pg" >/dev/null
VANTAGE_DB=$("$TOP/scripts/pg" start "$T/pg") || t_skip "PostgreSQL did not restart"
export VANTAGE_DB
t_psql "CREATE EXTENSION pg_stat_statements" >/dev/null ||
	t_skip "no pg_stat_statements"

N=40
t_psql "INSERT INTO probes (id, key_type, pubkey, address_v4)
        SELECT i, 'ssh-ed25519', 'k' || i,
               CASE WHEN i % 2 = 0 THEN ('10.9.0.' || i)::inet END
        FROM generate_series(1, $N) i" >/dev/null
t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port)
        SELECT i, 's' || i, 40000 + i FROM generate_series(1, $N) i" >/dev/null

# (Its text there: constants as $n, the RETURN's expression as a SELECT.)
# One backend: reset the counters, then the gateway's sessions-up
# statement (controller/gateway/db_batch.c) for all N probes at once.
out=$(psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 <<EOF
SET pg_stat_statements.track = 'all';
SET pg_stat_statements.track_planning = on;
SELECT pg_stat_statements_reset();
UPDATE probe_sessions ps SET connected = true, gateway = 'gw1',
       from_addr = u.from_addr, since = now(), last_seen = now()
FROM unnest((SELECT array_agg(i) FROM generate_series(1, $N) i),
            array_fill('192.0.2.7'::inet, ARRAY[$N])) AS u(id, from_addr)
WHERE ps.probe_id = u.id;
SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(plans), 0)
FROM pg_stat_statements
WHERE query LIKE '(SELECT coalesce(array_agg(DISTINCT t ORDER BY t)%';
EOF
)
read -r calls plans <<<"$(printf '%s\n' "$out" | tail -1)"
t_log "tags query: $calls executions, $plans plannings for $N probes"
t_check "the tags query ran as a statement of its own, at least once a probe ($calls >= $N)" \
	test "${calls:-0}" -ge $N
t_check "and was planned at most 10 times for $N probes (a few custom plans, then the generic one): $plans" \
	test "${plans:-999}" -le 10

wrong=$(t_psql "SELECT count(*) FROM probes p JOIN probe_sessions s ON s.probe_id = p.id
                WHERE p.system_tags IS DISTINCT FROM vt_system_tags(p, s.from_addr)")
t_check "every probe's system tags are those of its session's address" test "$wrong" = 0
t_check "a probe with no address of its own has system-ipv4-works from its session" \
	test "$(t_psql "SELECT 'system-ipv4-works' = ANY (system_tags) FROM probes WHERE id = 1")" = t
t_check "one with a private address of its own differing from it is rfc1918" \
	test "$(t_psql "SELECT 'system-ipv4-rfc1918' = ANY (system_tags) FROM probes WHERE id = 2")" = t
t_done
