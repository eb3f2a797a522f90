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
# Since 031 a sessions-up batch computes its probes' tags in one set-based
# statement (vt_system_tags_of inlined into it): that UPDATE runs once per
# batch, and the probes row trigger does not compute the tags again per
# probe.  The tags are those of 027's vt_system_tags (loaded here from its
# migration under another name) for a mix of new and known probes, v4 and
# v6 sessions and own addresses, anchors, virtual probes, results old and
# recent, other system tags, ASN and prefix changes.  The row trigger, for
# the other writes of a probe, still runs 027's kept plan.  A probe
# written by another transaction while the batch waits for its row gets
# the tags of the version written.
# Since 032 the scheduler's refresh (vt_refresh_system_tags) also computes
# the tags once per probe in one statement, without the row trigger, and
# changes the same probes to the same tags (made stale with the triggers
# off: other tags, other addresses of their own or of the session, no
# session), returning their number; a probe written by another
# transaction while the refresh waits for its row keeps the tags that
# write computed from the row it wrote, as with 004's refresh.
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
# 027's function, the reference for the tags.
sed -e '/^CREATE OR REPLACE FUNCTION vt_system_tags/,$!d' \
    -e 's/FUNCTION vt_system_tags(/FUNCTION vt_tags_027(/' \
	"$TOP/storage/migrations/027_system_tags_plpgsql.sql" |
	psql "$VANTAGE_DB" -qX -v ON_ERROR_STOP=1 >/dev/null
t_check "027's vt_system_tags loads as vt_tags_027" \
	test -n "$(t_psql "SELECT 'vt_tags_027(probes, inet)'::regprocedure")"

# Probes 1..N: even ones with a private v4 address of their own, every
# fifth a v6 one, every seventh an anchor, every ninth virtual, every
# sixth with a v6 result 2 days old and every eleventh one an hour old,
# every eighth with a system tag of someone else's.  1..N/2 connect for
# the first time (no session address); the others are known, coming back
# from the address they had (i % 4 = 1) or from another, v4 to v6 and back.
t_psql "INSERT INTO probes (id, key_type, pubkey, address_v4, address_v6,
                            is_anchor, is_virtual, v6_ok_at, system_tags,
                            asn_v4, prefix_v4)
        SELECT i, 'ssh-ed25519', 'k' || i,
               CASE WHEN i % 2 = 0 THEN ('10.9.0.' || i)::inet END,
               CASE WHEN i % 5 = 0 THEN ('2001:db8::' || i)::inet END,
               i % 7 = 0, i % 9 = 0,
               CASE WHEN i % 6 = 0 THEN extract(epoch FROM now())::bigint - 172800
                    WHEN i % 11 = 0 THEN extract(epoch FROM now())::bigint - 3600 END,
               CASE WHEN i % 8 = 0 THEN '{system-resolves-a-correctly}'::text[]
                    ELSE '{}' END,
               64500 + i % 3, '10.9.0.0/24'
        FROM generate_series(1, $N) i" >/dev/null
from="CASE WHEN i % 3 = 0 THEN ('2001:db8:1::' || i)::inet
           ELSE ('192.0.2.' || i)::inet END"
t_psql "INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr)
        SELECT i, 's' || i, 40000 + i,
               CASE WHEN i <= $N / 2 THEN NULL WHEN i % 4 = 1 THEN $from
                    WHEN i % 2 = 0 THEN ('2001:db8:2::' || i)::inet
                    ELSE ('198.51.100.' || i)::inet END
        FROM generate_series(1, $N) i" >/dev/null
t_psql "UPDATE probes SET asn_v4 = asn_v4 + 1, prefix_v4 = '10.9.0.0/16'
        WHERE id % 4 = 2" >/dev/null
t_psql "CREATE TABLE want AS SELECT p.id, vt_tags_027(p, $from) AS tags
        FROM probes p, LATERAL (SELECT p.id AS i) x" >/dev/null

# pgss PATTERN: the statement printing pg_stat_statements' calls and
# plans of the statements whose text is LIKE PATTERN.
pgss() {
	printf "SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(plans), 0)
	        FROM pg_stat_statements WHERE query LIKE '%s';\n" "$1"
}
# The per-probe tags query, as 027 and as 031 (vt_system_tags's RETURN).
tagsq='(SELECT coalesce(array_agg(DISTINCT t ORDER BY t)%'
tagsq31='(SELECT t FROM vt_system_tags_of%'

# counted SQL PATTERN: runs SQL in one backend after resetting the
# counters, then prints the calls and plans of the UPDATE whose text is
# LIKE PATTERN, of the probes row trigger's tags and of the per-probe tags
# queries (four lines after SQL's own output).
counted() {
	psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 <<EOF
SET pg_stat_statements.track = 'all';
SET pg_stat_statements.track_planning = on;
SELECT pg_stat_statements_reset();
$1
$(pgss "$2")
$(pgss 'NEW.system_tags := vt_system_tags%')
$(pgss "$tagsq")
$(pgss "$tagsq31")
EOF
}
# tags_once WHAT OUT WANT: the checks that counted's output OUT shows the
# tags computed once per probe by one UPDATE, and that every probe's tags
# are those in table WANT (id, tags).
tags_once() {
	local upd rowtrg q27 q31 wrong
	read -r upd _ rowtrg _ q27 _ q31 _ <<<"$(printf '%s\n' "$2" | tail -4 | tr '\n' ' ')"
	t_log "$1: tags UPDATE $upd, row trigger $rowtrg, per-probe tags queries $q27 + $q31"
	t_check "$1: the tags were written by one set-based UPDATE ($upd)" \
		test "${upd:-0}" = 1
	t_check "$1: the probes row trigger did not compute them again per probe ($rowtrg)" \
		test "${rowtrg:-1}" = 0
	t_check "$1: no tags query ran per probe ($q27 + $q31)" \
		test "$((${q27:-1} + ${q31:-1}))" = 0
	wrong=$(t_psql "SELECT count(*) FROM probes p JOIN $3 w USING (id)
	                WHERE p.system_tags IS DISTINCT FROM w.tags")
	t_check "$1: every probe's system tags are those of 027's vt_system_tags ($wrong differ)" \
		test "$wrong" = 0
}

# The gateway's sessions-up statement (controller/gateway/db_batch.c) for
# all N probes at once.
out=$(counted "UPDATE probe_sessions ps SET connected = true, gateway = 'gw1',
       from_addr = u.from_addr, since = now(), last_seen = now()
FROM (SELECT i AS id, $from AS from_addr FROM generate_series(1, $N) i) AS u
WHERE ps.probe_id = u.id;" 'WITH c AS MATERIALIZED%UPDATE probes%')
tags_once "sessions-up of $N probes" "$out" want
t_check "a new probe with no address of its own has system-ipv4-works from its session" \
	test "$(t_psql "SELECT 'system-ipv4-works' = ANY (system_tags) FROM probes WHERE id = 1")" = t
t_check "one with a private address of its own differing from it is rfc1918" \
	test "$(t_psql "SELECT 'system-ipv4-rfc1918' = ANY (system_tags) FROM probes WHERE id = 2")" = t
t_check "a known probe moved from v6 to v4 has system-ipv4-works, not system-ipv6-works" \
	test "$(t_psql "SELECT system_tags @> '{system-ipv4-works}'
	                       AND NOT system_tags @> '{system-ipv6-works}'
	                FROM probes WHERE id = 26")" = t
t_check "someone else's system tag is kept" \
	test "$(t_psql "SELECT system_tags @> '{system-resolves-a-correctly}' FROM probes WHERE id = 8")" = t

# Other writes of a probe still recompute its tags in the row trigger,
# with a kept plan (027): every probe gets a v6 address of its own.
out=$(psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 <<EOF
SET pg_stat_statements.track = 'all';
SET pg_stat_statements.track_planning = on;
SELECT pg_stat_statements_reset();
UPDATE probes SET address_v6 = ('2001:db8:3::' || id)::inet;
$(pgss "$tagsq")
$(pgss "$tagsq31")
EOF
)
read -r c27 p27 c31 p31 <<<"$(printf '%s\n' "$out" | tail -2 | tr '\n' ' ')"
calls=$((${c27:-0} + ${c31:-0})) plans=$((${p27:-999} + ${p31:-999}))
t_log "row trigger: tags query $calls executions, $plans plannings for $N probes"
t_check "the tags query ran as a statement of its own, at least once a probe ($calls >= $N)" \
	test "$calls" -ge $N
t_check "and was planned at most 10 times for $N probes (a few custom plans, then the generic one): $plans" \
	test "$plans" -le 10
wrong=$(t_psql "SELECT count(*) FROM probes p JOIN probe_sessions s ON s.probe_id = p.id
                WHERE p.system_tags IS DISTINCT FROM vt_tags_027(p, s.from_addr)")
t_check "every probe's system tags are those of its session's address ($wrong differ)" \
	test "$wrong" = 0
t_check "and all have system-ipv6-capable from their own address" \
	test "$(t_psql "SELECT bool_and(system_tags @> '{system-ipv6-capable}') FROM probes")" = t

# A probe written by another transaction while a sessions-up batch waits
# for its row: the batch's tags were computed from the version its
# snapshot had, and the row trigger, skipped for the batch's UPDATE, no
# longer corrected them.  Probe R becomes an anchor in an open
# transaction; its first session comes meanwhile and waits for the row;
# the anchor commits first: R's tags are those of the anchor with the
# session's address.
R=$((N + 1))
t_psql "INSERT INTO probes (id, key_type, pubkey) VALUES ($R, 'ssh-ed25519', 'k$R')" >/dev/null
mkfifo "$T/anchor.in"
PGAPPNAME=tags_anchor psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 \
	<"$T/anchor.in" >"$T/anchor.out" 2>&1 &
t_bg $!
exec 5>"$T/anchor.in"
echo "BEGIN; UPDATE probes SET is_anchor = true WHERE id = $R;" >&5
in_state() {
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity
	                WHERE application_name = '$1' AND $2")" = 1
}
t_check "the anchor's transaction holds probe $R" \
	t_wait 60 in_state tags_anchor "state = 'idle in transaction'"
PGAPPNAME=tags_session psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 -c \
	"INSERT INTO probe_sessions (probe_id, session_id, remote_port, from_addr)
	 VALUES ($R, 's$R', 40000, '192.0.2.200')" >"$T/session.out" 2>&1 &
SESSPID=$!
t_bg $SESSPID
t_check "its first session waits for the probe's row" \
	t_wait 60 in_state tags_session "wait_event_type = 'Lock'"
echo "COMMIT;" >&5
exec 5>&-
wait $SESSPID
t_check "the session's statement ends well" test $? = 0
t_check "probe $R has system-anchor and system-ipv4-works ($(t_psql "SELECT system_tags FROM probes WHERE id = $R"))" \
	test "$(t_psql "SELECT system_tags @> '{system-anchor,system-ipv4-works}' FROM probes WHERE id = $R")" = t
wrong=$(t_psql "SELECT count(*) FROM probes p JOIN probe_sessions s ON s.probe_id = p.id
                WHERE p.id = $R AND p.system_tags IS DISTINCT FROM vt_tags_027(p, s.from_addr)")
t_check "and the tags of 027's vt_system_tags ($wrong differ)" test "$wrong" = 0

# The scheduler's refresh (vt_refresh_system_tags, 032): stale tags made
# with the triggers off (session_replication_role): some probes with tags
# of another row, some with another address of their own, some with a
# session from another address, some without a session.
psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >/dev/null <<EOF
SET session_replication_role = replica;
UPDATE probes SET system_tags = '{system-anchor,system-ipv4-works}' WHERE id % 3 = 0;
UPDATE probes SET address_v4 = ('192.168.7.' || id)::inet WHERE id % 7 = 1;
UPDATE probes SET address_v6 = NULL WHERE id % 4 = 0;
UPDATE probe_sessions SET from_addr = ('203.0.113.' || probe_id)::inet
WHERE probe_id % 5 = 2;
DELETE FROM probe_sessions WHERE probe_id % 10 = 9;
EOF
t_psql "CREATE TABLE want_refresh AS
        SELECT p.id, vt_tags_027(p, s.from_addr) AS tags,
               p.system_tags IS DISTINCT FROM vt_tags_027(p, s.from_addr) AS stale
        FROM probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id" >/dev/null
stale=$(t_psql "SELECT count(*) FROM want_refresh WHERE stale")
# The scheduler's pass (controller/scheduler/sched.c).
out=$(counted "SELECT vt_refresh_system_tags();" 'WITH fresh AS MATERIALIZED%UPDATE probes%')
changed=$(printf '%s\n' "$out" | tail -5 | head -1)
tags_once "refresh of $N probes" "$out" want_refresh
t_check "there were probes with stale tags to refresh ($stale)" test "$stale" -gt 0
t_check "the refresh returned their number ($changed = $stale)" \
	test "${changed:-x}" = "$stale"
t_check "a second refresh changes nothing" \
	test "$(t_psql "SELECT vt_refresh_system_tags()")" = 0
# The setting that skips the row trigger does not outlive the refresh in
# its transaction: a write after it recomputes the probe's tags.
t_check "a write after a refresh in the same transaction still recomputes the tags" \
	test "$(psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 <<EOF
BEGIN;
SELECT vt_refresh_system_tags() >= 0 AS ok \gset
UPDATE probes SET address_v4 = NULL WHERE id = 2;
SELECT 'system-ipv4-rfc1918' = ANY (system_tags) FROM probes WHERE id = 2;
COMMIT;
EOF
)" = f
# One probe: only_probe refreshes that one and leaves the others stale.
t_psql "SET session_replication_role = replica;
        UPDATE probes SET system_tags = '{}' WHERE id IN (14, 15)" >/dev/null
t_check "vt_refresh_system_tags(14) changes probe 14's tags" \
	test "$(t_psql "SELECT vt_refresh_system_tags(14)")" = 1
t_check "and not probe 15's" \
	test "$(t_psql "SELECT system_tags = '{}' FROM probes WHERE id = 15")" = t
t_check "probe 14's tags are those of 027's vt_system_tags" \
	test "$(t_psql "SELECT p.system_tags = vt_tags_027(p, s.from_addr)
	                FROM probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id
	                WHERE p.id = 14")" = t

# A probe written by another transaction while the refresh waits for its
# row: the refresh computed its tags from the row as it was, the other
# write's row trigger from the row it wrote (a private address of its own:
# system-ipv4-rfc1918); the refresh must not write the older tags over
# them.  The writer holds the row until the refresh waits for it.
t_psql "SET session_replication_role = replica;
        UPDATE probes SET system_tags = '{}' WHERE id = 3" >/dev/null
psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >/dev/null 2>"$T/race.err" <<'EOF' &
BEGIN;
UPDATE probes SET address_v4 = '172.16.5.3' WHERE id = 3;
DO $$ BEGIN -- refresh race: until the refresh waits for the row, 60 s at most
    FOR i IN 1..6000 LOOP
        PERFORM pg_stat_clear_snapshot();
        EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                          WHERE wait_event_type = 'Lock'
                            AND query LIKE '%vt_refresh_system_tags%');
        PERFORM pg_sleep(0.01);
    END LOOP;
END $$;
COMMIT;
EOF
racer=$!
t_bg $racer
racing() {
	test "$(t_psql "SELECT count(*) FROM pg_stat_activity
	                WHERE query LIKE '%refresh race%' AND pid <> pg_backend_pid()")" = 1
}
t_check "the other writer holds probe 3's row" t_wait 60 racing
changed=$(t_psql "SELECT vt_refresh_system_tags()")
t_check "the other writer's transaction committed" wait $racer
t_check "the refresh changed only probe 15's tags, left stale above ($changed)" test "$changed" = 1
t_check "probe 3's tags are those of the row the other writer wrote" \
	test "$(t_psql "SELECT p.system_tags = vt_tags_027(p, s.from_addr)
	                       AND p.system_tags @> '{system-ipv4-rfc1918}'
	                FROM probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id
	                WHERE p.id = 3")" = t
t_done
