#!/bin/bash
# gateway_crontab_claim: a KEEP's crontab push is queued already claimed by
# the gateway holding the probe (one statement, no scan and no claim of its
# own), with an OpenSSH client as the probe:
#  (a) the push row is inserted with status sending for this gateway (an
#      audit trigger records each insert), it reaches the probe once with
#      the probe's due one-off, and ends ok after one attempt;
#  (b) the gateway is SIGKILLed while that push is in flight (the probe's
#      command port accepts and never answers) and restarted; the probe's
#      next KEEP gets a new crontab push, claimed and delivered once, and
#      the stale one of the dead gateway's claim is never sent again (the
#      restart's tidy runs before the new claim, which then replaces it);
#  (c) nothing is left claimed or pending.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup

t_check "audit of inserted pushes" t_psql "
	CREATE TABLE push_audit (id bigint, kind text, status text, gateway text);
	CREATE FUNCTION push_audit() RETURNS trigger LANGUAGE plpgsql AS \$f\$
	BEGIN
		INSERT INTO push_audit VALUES (NEW.id, NEW.kind, NEW.status, NEW.gateway);
		RETURN NEW;
	END \$f\$;
	CREATE TRIGGER push_audit AFTER INSERT ON probe_pushes
		FOR EACH ROW EXECUTE FUNCTION push_audit()"
# A one-off on the probe, Ongoing (made straight in the database: no
# scheduler runs here): it joins the claimed crontab push.
M=$(echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"packets\": 1,
  \"target\": \"192.0.2.9\", \"description\": \"joins\"}], \"is_oneoff\": true,
  \"probes\": [{\"type\": \"probes\", \"value\": \"$PRB\", \"requested\": 1}]}" |
	"$BIN/vantage" msm create -)
t_check "an Ongoing one-off assigned to the probe" t_psql "UPDATE measurements SET status = 2 WHERE id = $M;
	INSERT INTO assignments (msm_id, probe_id) VALUES ($M, $PRB)"

gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
gw_cmdport "$T/cmd.log"
t_check "KEEP up" gw_keep

crontabs() { t_psql "SELECT string_agg(status || ' ' || coalesce(gateway, '') || ' ' || attempts, ',' ORDER BY id)
	FROM probe_pushes WHERE probe_id = $PRB AND kind = 'crontab'"; }
is_crontabs() { [ "$(crontabs)" = "$1" ]; }
mains() { grep -c '^CRONTAB .*crons/main' "$T/cmd.log"; }
t_check "(a) the crontab push delivered after one attempt" \
	t_wait 30 is_crontabs "ok gw-test 1"
t_check "(a) it was inserted claimed for this gateway" \
	test "$(t_psql "SELECT string_agg(status || ' ' || coalesce(gateway, ''), ',')
		FROM push_audit WHERE kind = 'crontab'")" = "sending gw-test"
t_check "(a) it reached the probe once" test "$(mains)" = 1
t_check "(a) with the one-off, once" test "$(grep -c -- "-A $M " "$T/cmd.log")" = 1
t_check "(a) the one-off recorded delivered" \
	test "$(t_psql "SELECT delivered IS NOT NULL AND push_id IS NULL FROM assignments
		WHERE msm_id = $M AND probe_id = $PRB")" = t

# (b) a probe whose command port never answers holds the next crontab
# push in flight when the gateway dies.
kill "$KEEPPID" 2>/dev/null
wait "$KEEPPID" 2>/dev/null
t_wait 20 gw_connected f
MUTE=$(t_free_port)
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
held = []
while True:
    held.append(s.accept()[0])
' "$MUTE" &
MUTEPID=$!
t_bg $MUTEPID
t_wait 10 sh -c "ss -Htln 'sport = :$MUTE' | grep -q ."
GW_CMDP=$MUTE
t_check "(b) KEEP again, command port mute" gw_keep
t_check "(b) the new crontab push in flight" \
	t_wait 30 is_crontabs "ok gw-test 1,sending gw-test 1"
STALE=$(t_psql "SELECT max(id) FROM probe_pushes WHERE probe_id = $PRB AND kind = 'crontab'")
kill -9 "$GWPID"
wait "$GWPID" 2>/dev/null
kill "$KEEPPID" 2>/dev/null
wait "$KEEPPID" 2>/dev/null
kill "$MUTEPID" 2>/dev/null
gw_cmdport "$T/cmd2.log"
gw_start || { t_notok "gateway restarts"; t_done; exit 1; }
t_check "(b) KEEP on the restarted gateway" gw_keep
latest_ok() {
	[ "$(t_psql "SELECT status || ' ' || attempts FROM probe_pushes
		WHERE probe_id = $PRB AND kind = 'crontab' ORDER BY id DESC LIMIT 1")" = "ok 1" ]
}
t_check "(b) the restarted gateway's crontab push delivered after one attempt" \
	t_wait 30 latest_ok
t_check "(b) inserted claimed" test "$(t_psql "SELECT string_agg(status, ',' ORDER BY id)
	FROM push_audit WHERE kind = 'crontab'")" = "sending,sending,sending"
t_check "(b) the dead gateway's claim replaced, not sent again" \
	test "$(t_psql "SELECT count(*) FROM probe_pushes WHERE id = $STALE")" = 0
t_check "(b) one crontab reached the probe" test "$(grep -c '^CRONTAB .*crons/main' "$T/cmd2.log")" = 1
t_check "(c) nothing claimed or pending" test "$(t_psql "SELECT count(*) FROM probe_pushes
	WHERE status IN ('sending', 'pending')")" = 0

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -30 "$T/gw.log" | sed 's/^/#   /'
	t_log "pushes of the probe:"; t_psql "SELECT id, kind, status, outcome, gateway, attempts
		FROM probe_pushes WHERE probe_id = $PRB ORDER BY id" | sed 's/^/#   /'
	t_log "audit:"; t_psql "SELECT * FROM push_audit" | sed 's/^/#   /'
	t_log "command port:"; sed 's/^/#   /' "$T/cmd.log" "$T/cmd2.log"
fi
t_done
