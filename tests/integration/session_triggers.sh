#!/bin/bash
# session_triggers: what the triggers on probe_sessions and probes keep
# (migrations 004, 017, 019) stays true under set-based statements as the
# gateway issues them (a restart's reset of every session, 64-row up and
# bind batches, moves between gateways) and under two gateways writing at
# once: gateway_load.live is the number of connected sessions per gateway
# and .pending the gateway_assign rows per gateway; every probe's system
# tags are those vt_system_tags computes from it and its session's
# address; one NOTIFY vantage_sched per statement that connects or
# disconnects sessions, none for a bind-only batch.
. "$(dirname "$0")/../lib.sh"
t_setup
t_pg_start || t_skip "no PostgreSQL"

N=400
q() { t_psql "$1"; }
# Gateways whose counters differ from the truth (none: empty output).
load_wrong() {
	q "SELECT coalesce(l.gateway, t.gateway) || ':' || coalesce(l.live, 0) || '/'
	          || coalesce(t.live, 0) || ',' || coalesce(l.pending, 0) || '/'
	          || coalesce(t.pending, 0)
	   FROM gateway_load l FULL JOIN (
	        SELECT gateway, sum(live)::integer AS live,
	               sum(pending)::integer AS pending FROM (
	            SELECT gateway, 1 AS live, 0 AS pending FROM probe_sessions
	            WHERE connected AND gateway IS NOT NULL
	            UNION ALL SELECT gateway, 0, 1 FROM gateway_assign) x
	        GROUP BY gateway) t ON t.gateway = l.gateway
	   WHERE coalesce(l.live, 0) <> coalesce(t.live, 0)
	      OR coalesce(l.pending, 0) <> coalesce(t.pending, 0)"
}
# Probes whose system tags are not what vt_system_tags gives (none: 0).
tags_wrong() {
	q "SELECT count(*) FROM probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id
	   WHERE p.system_tags IS DISTINCT FROM vt_system_tags(p, s.from_addr)"
}
right() { # DESCRIPTION
	local l t
	l=$(load_wrong)
	t=$(tags_wrong)
	if [ -z "$l" ] && [ "$t" = 0 ]; then
		t_ok "$1: gateway_load and system tags right"
	else
		t_notok "$1: gateway_load wrong: '$l'; probes with wrong tags: $t"
	fi
}
is() { # DESC GOT WANT
	if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi
}
live() { q "SELECT coalesce((SELECT live FROM gateway_load WHERE gateway = '$1'), 0)"; }

# N probes, half with a private address of their own; registration sent
# the first 100 to gw1 and the next 50 to gw2 (pending there).
q "INSERT INTO probes (id, key_type, pubkey, address_v4, address_v6)
   SELECT i, 'ssh-ed25519', 'k' || i,
          CASE WHEN i % 2 = 0 THEN ('10.9.' || (i / 200) || '.' || (i % 200 + 1))::inet END,
          CASE WHEN i % 5 = 0 THEN '2001:db8::' || i END::inet
   FROM generate_series(1, $N) i"
q "INSERT INTO probe_sessions (probe_id, session_id, remote_port)
   SELECT i, 's' || i, 40000 + i FROM generate_series(1, $N) i"
q "INSERT INTO gateway_assign (probe_id, gateway)
   SELECT i, CASE WHEN i <= 100 THEN 'gw1' ELSE 'gw2' END FROM generate_series(1, 150) i"
q "INSERT INTO gateway_load (gateway, pending) VALUES ('gw1', 100), ('gw2', 50)"
right "sessions issued, registrations pending"
q "DELETE FROM probe_sessions WHERE false"
q "UPDATE probe_sessions SET connected = true WHERE false"
q "INSERT INTO probe_sessions SELECT * FROM probe_sessions WHERE false"
right "statements that change no row"

# Everything up on gw1 in one statement, from IPv4 and IPv6 addresses.
q "UPDATE probe_sessions SET connected = true, gateway = 'gw1',
   from_addr = CASE WHEN probe_id % 3 = 0 THEN ('2001:db8:1::' || probe_id)::inet
               ELSE ('192.0.2.' || (probe_id % 250 + 1))::inet END"
right "all up on gw1 in one statement"
is "all live on gw1" "$(live gw1)" $N
is "no registration pending any more" "$(q "SELECT count(*) FROM gateway_assign")" 0
is "a probe from an IPv6 address works over IPv6" \
	"$(q "SELECT system_tags @> '{system-ipv6-works}' FROM probes WHERE id = 3")" t
is "a probe with a private address behind a public one is rfc1918" \
	"$(q "SELECT system_tags @> '{system-ipv4-rfc1918}' FROM probes WHERE id = 2")" t

# A restart's reset: every session of gw1 but three down (db.c).
q "WITH gone AS (UPDATE probe_sessions SET connected = false, gateway = NULL,
     last_seen = now() WHERE gateway = 'gw1'
     AND NOT (probe_id = ANY('{1,2,3}'::integer[])) RETURNING probe_id)
   UPDATE probes SET status = 2, status_since = now()
   WHERE id IN (SELECT probe_id FROM gone)"
right "the reset after a restart"
is "three left on gw1" "$(live gw1)" 3

# 64-row batches as the ctrl lane issues them (db_batch.c): up on gw2,
# some from a new address, then the bind batch, then down.
q "INSERT INTO gateway_assign (probe_id, gateway)
   SELECT i, 'gw2' FROM generate_series(10, 40) i
   ON CONFLICT (probe_id) DO UPDATE SET gateway = EXCLUDED.gateway"
q "UPDATE gateway_load SET pending = pending + 31 WHERE gateway = 'gw2'"
right "registrations pending on gw2"
for b in 0 64 128; do
	q "UPDATE probe_sessions ps SET connected = true, gateway = 'gw2',
	   from_addr = u.from_addr, since = now(), last_seen = now()
	   FROM unnest(ARRAY(SELECT generate_series($b + 4, $b + 67)),
	               ARRAY(SELECT CASE WHEN i % 2 = 0 THEN ('198.51.100.' || (i % 250 + 1))
	                            ELSE ('192.0.2.' || (i % 250 + 1)) END::inet
	                     FROM generate_series($b + 4, $b + 67) i))
	   AS u(id, from_addr) WHERE ps.probe_id = u.id"
	q "UPDATE probe_sessions ps SET bind_addr = b.bind, last_seen = now()
	   FROM unnest(ARRAY(SELECT generate_series($b + 4, $b + 67)),
	               ARRAY(SELECT '0.0.0.0'::text FROM generate_series($b + 4, $b + 67)))
	   AS b(id, bind) WHERE ps.probe_id = b.id AND ps.gateway = 'gw2'"
done
right "three 64-row up and bind batches on gw2"
is "192 live on gw2" "$(live gw2)" 192
is "the pending ones connected" "$(q "SELECT count(*) FROM gateway_assign WHERE probe_id BETWEEN 10 AND 40")" 0
q "WITH gone AS (UPDATE probe_sessions SET connected = false, gateway = NULL,
     last_seen = now() WHERE probe_id = ANY(ARRAY(SELECT generate_series(4, 67)))
     AND gateway = 'gw2' RETURNING probe_id)
   UPDATE probes SET status = 2, status_since = now() WHERE id IN (SELECT probe_id FROM gone)"
right "a 64-row down batch"

# One statement moving sessions both ways between gateways, and back.
q "UPDATE probe_sessions SET gateway = CASE WHEN gateway = 'gw1' THEN 'gw2' ELSE 'gw1' END
   WHERE connected"
right "sessions swapped between gw1 and gw2 in one statement"
q "UPDATE probe_sessions SET gateway = 'gw3', from_addr = '203.0.113.7'
   WHERE probe_id % 7 = 0 AND connected"
right "some moved to gw3 from a new address"

# Registration's upsert (INSERT .. ON CONFLICT), a new probe's first
# session, and probes deleted with their sessions.
q "INSERT INTO probe_sessions (probe_id, session_id, remote_port, issued)
   SELECT i, 'r' || i, 50000 + i, now() FROM generate_series(1, 20) i
   ON CONFLICT (probe_id) DO UPDATE SET session_id = EXCLUDED.session_id,
   remote_port = EXCLUDED.remote_port, issued = now()"
q "INSERT INTO probes (id, key_type, pubkey) VALUES ($((N + 1)), 'ssh-ed25519', 'knew')"
q "INSERT INTO probe_sessions (probe_id, session_id, remote_port, connected, gateway, from_addr)
   VALUES ($((N + 1)), 'n', 1, true, 'gw3', '192.0.2.99')"
right "an upsert and a new session connected at once"
q "DELETE FROM probes WHERE id IN (SELECT probe_id FROM probe_sessions WHERE connected LIMIT 30)"
right "30 connected probes deleted with their sessions"

# One NOTIFY vantage_sched per statement connecting or disconnecting,
# none for binds (psql prints each notification after the command).
notes=$(psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 <<-'EOF' 2>&1 | grep -c 'notification "vantage_sched"'
	LISTEN vantage_sched;
	UPDATE probe_sessions SET connected = NOT connected, gateway = CASE WHEN connected THEN NULL ELSE 'gw1' END;
	UPDATE probe_sessions SET bind_addr = 'x', last_seen = now();
	EOF
)
is "one NOTIFY for a statement flipping every session, none for binds" "$notes" 1
right "every session flipped"

# A status write recomputes the tags when a success is over a day old
# (the "works" tag may have expired) and keeps them right otherwise.
q "BEGIN; ALTER TABLE probes DISABLE TRIGGER probes_system_tags_upd;
   UPDATE probes SET v6_ok_at = extract(epoch FROM now())::bigint - 90000,
   system_tags = '{system-ipv6-works,system-ipv6-capable}' WHERE id = 5;
   ALTER TABLE probes ENABLE TRIGGER probes_system_tags_upd; COMMIT"
q "UPDATE probes SET status = 2 WHERE id = 5"
is "an expired IPv6 success no longer makes it work over IPv6" \
	"$(q "SELECT system_tags @> '{system-ipv6-works}' FROM probes WHERE id = 5")" f
q "UPDATE probes SET v6_ok_at = extract(epoch FROM now())::bigint - 60 WHERE id = 7"
q "UPDATE probes SET status = 1 WHERE id BETWEEN 1 AND $N"
right "status writes, one probe with a fresh IPv6 success"
is "a fresh IPv6 success works over IPv6" \
	"$(q "SELECT system_tags @> '{system-ipv6-works}' FROM probes WHERE id = 7")" t

# Gateways writing at once: each writer brings its own probes' sessions
# up, moves some across to the other gateway and takes some down, in
# batches; all of them change both gateways' counters.  No count lost, no
# deadlock.
q "UPDATE probe_sessions SET connected = false, gateway = NULL"
writer() { # GW OTHER FIRST
	local i
	for i in $(seq 1 15); do
		cat <<-EOF
		UPDATE probe_sessions SET connected = true, gateway = '$1',
		  from_addr = ('192.0.2.' || ((probe_id + $i) % 250 + 1))::inet
		  WHERE probe_id BETWEEN $3 AND $3 + 150 AND probe_id % 2 = $i % 2;
		UPDATE probe_sessions SET gateway = '$2' WHERE probe_id BETWEEN $3 AND $3 + 150
		  AND probe_id % 3 = $i % 3 AND connected;
		BEGIN;
		WITH gone AS (UPDATE probe_sessions SET connected = false, gateway = NULL
		  WHERE probe_id BETWEEN $3 AND $3 + 150 AND probe_id % 5 = $i % 5 AND connected
		  RETURNING probe_id)
		UPDATE probes SET status = 2 WHERE id IN (SELECT probe_id FROM gone);
		COMMIT;
		EOF
	done
}
writer gw1 gw2 1 | psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >"$T/w1.log" 2>&1 &
w1=$!
t_bg $w1
writer gw2 gw1 160 | psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >"$T/w2.log" 2>&1 &
w2=$!
t_bg $w2
writer gw1 gw2 320 | psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >"$T/w3.log" 2>&1
r3=$?
wait $w1; r1=$?
wait $w2; r2=$?
t_check "three concurrent writers ran without an error" \
	test "$r1$r2$r3" = 000
[ "$r1$r2$r3" = 000 ] || t_log "$(cat "$T/w1.log" "$T/w2.log" "$T/w3.log" | head -5)"
right "after three concurrent writers"
t_check "and some sessions are live" test "$(q "SELECT count(*) FROM probe_sessions WHERE connected")" -gt 0

t_done
