#!/bin/bash
# gateway_oneoffbatch: the probes' due one-offs join the crontab pushes a
# batch of the control lane claims in one statement for the whole batch,
# not one per probe, and each push takes exactly its own probe's
# one-offs, once.  40 probes hold KEEP; an audit trigger records each
# assignment a push takes.
#  (a) a reconnect storm: two one-offs are Ongoing, probe by probe a
#      different set (none, the first, both) by p mod 3; the gateway is
#      SIGKILLed and restarted and the 40 come back at once, each KEEP's
#      crontab push claimed as it is queued: fewer statements take
#      one-offs (vt_oneoffs_due) than probes came back, at most one for
#      each statement queueing crontab pushes, and every one-off is
#      delivered, taken once by a push of its own probe;
#  (b) pushes claimed by the scan: two more one-offs, set as in (a); the
#      lane's backend is stopped while the 40 are NOTIFYed on
#      vantage_crontab (40 crontab jobs queue up); once it goes on
#      (SIGCONT), at most 3 statements take one-offs, and each new push
#      takes its own probe's one-offs.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
K=40
gw_hold_batch

t_check "audit of the one-offs pushes take" t_psql "
	CREATE TABLE take_audit (msm_id bigint, probe_id integer, push_id bigint);
	CREATE FUNCTION take_audit() RETURNS trigger LANGUAGE plpgsql AS \$f\$
	BEGIN
		INSERT INTO take_audit VALUES (NEW.msm_id, NEW.probe_id, NEW.push_id);
		RETURN NULL;
	END \$f\$;
	CREATE TRIGGER take_audit AFTER UPDATE OF push_id ON assignments
		FOR EACH ROW WHEN (NEW.push_id IS NOT NULL)
		EXECUTE FUNCTION take_audit()"

# Two Ongoing one-offs (made straight in the database: no scheduler runs
# here) on the held probes; probe p gets none, {A} or {A,B} by p mod 3.
PIDS="SELECT probe_id FROM probe_sessions WHERE connected AND gateway = 'gw-test'"
oneoff() {
	printf '{"definitions": [{"type": "ping", "af": 4, "packets": 1,
	  "target": "192.0.2.%s", "description": "oneoff %s"}], "is_oneoff": true,
	  "probes": [{"type": "probes", "value": "%s", "requested": 1}]}' \
	  "$1" "$1" "$PRB" | "$BIN/vantage" msm create -
}
assign() { # A B
	t_psql "UPDATE measurements SET status = 2 WHERE id IN ($1, $2);
		DELETE FROM assignments WHERE msm_id IN ($1, $2);
		INSERT INTO assignments (msm_id, probe_id)
		SELECT m, p FROM ($PIDS) s(p), unnest('{$1,$2}'::bigint[]) m
		WHERE (p % 3 = 1 AND m = $1) OR p % 3 = 2" >/dev/null
}
# takes_ok A B LAST: every assignment of A and B taken exactly once, by a
# push newer than LAST of its own probe.
takes_ok() {
	[ "$(t_psql "SELECT count(*) FROM assignments a WHERE msm_id IN ($1, $2)
		AND (SELECT count(*) FROM take_audit t JOIN probe_pushes p ON p.id = t.push_id
		     WHERE t.msm_id = a.msm_id AND t.probe_id = a.probe_id
		     AND p.probe_id = a.probe_id AND p.id > $3) = 1")" = "$(wanted "$1" "$2")" ] &&
	[ "$(t_psql "SELECT count(*) FROM take_audit WHERE msm_id IN ($1, $2)")" = "$(wanted "$1" "$2")" ]
}
wanted() { t_psql "SELECT count(*) FROM assignments WHERE msm_id IN ($1, $2)"; }
stmts_since() { tail -c +$(($1 + 1)) "$T/pg/server.log" | grep -c "$2"; }
t_psql "ALTER SYSTEM SET log_statement = 'all'" >/dev/null
t_psql "SELECT pg_reload_conf()" >/dev/null

# (a)
A1=$(oneoff 11)
A2=$(oneoff 12)
t_check "(a) two one-offs made ($A1 $A2)" test -n "$A1" -a -n "$A2"
assign "$A1" "$A2"
t_check "(a) $K probes hold one or two of them" test "$(wanted "$A1" "$A2")" -ge "$((K / 2))"
LAST=$(t_psql "SELECT coalesce(max(id), 0) FROM probe_pushes")
log0=$(stat -c %s "$T/pg/server.log")
kill -9 "$GWPID"
wait "$GWPID" 2>/dev/null
gw_start --threads 2 --metrics "127.0.0.1:$M" ||
	{ t_notok "gateway restarts"; t_done; exit 1; }
gw_ask "storm $CTRL $K 0 $GWPID" 600
t_log "storm: $GW_ANSWER"
t_check "(a) all $K back after the storm, their pushes answered" \
	gw_said " up=$K recorded=$K pushed=$K "
oneoffs=$(stmts_since "$log0" 'vt_oneoffs_due')
queued=$(stmts_since "$log0" 'INSERT INTO probe_pushes (probe_id, batch, kind')
t_log "(a) one-off statements: $oneoffs, crontab queueing statements: $queued, for $K probes"
t_check "(a) fewer one-off statements than probes (one per probe before)" \
	[ "$oneoffs" -ge 1 -a "$oneoffs" -lt "$K" ]
t_check "(a) at most one for each statement queueing crontab pushes" \
	[ "$oneoffs" -le "$queued" ]
t_check "(a) every one-off taken once, by a push of its own probe" takes_ok "$A1" "$A2" "$LAST"
delivered() { [ "$(t_psql "SELECT count(*) FROM assignments WHERE msm_id IN ($A1, $A2)
	AND (delivered IS NULL OR push_id IS NOT NULL)")" = 0 ]; }
t_check "(a) and delivered" t_wait 120 delivered

# (b)
B1=$(oneoff 21)
B2=$(oneoff 22)
t_check "(b) two one-offs made ($B1 $B2)" test -n "$B1" -a -n "$B2"
assign "$B1" "$B2"
gw_notify_stopped "(b)"
taken() { [ "$(t_psql "SELECT count(*) FROM take_audit WHERE msm_id IN ($B1, $B2)")" = "$(wanted "$B1" "$B2")" ]; }
t_check "(b) the one-offs taken" t_wait 300 taken
oneoffs=$(stmts_since "$LOG0" 'vt_oneoffs_due')
t_log "(b) one-off statements after the stop: $oneoffs for $K probes"
t_check "(b) the $K pushes' one-offs in at most 3 statements (one per probe before)" \
	[ "$oneoffs" -ge 1 -a "$oneoffs" -le 3 ]
t_check "(b) every one-off taken once, by a push of its own probe" takes_ok "$B1" "$B2" "$LAST"
t_check "gateway still running" kill -0 "$GWPID"
gw_tell quit
t_done
