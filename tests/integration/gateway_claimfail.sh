#!/bin/bash
# gateway_claimfail: a push claim that fails with a database error is
# tried again by the next full scan (every 5 s, pushq.c), not by every
# sweep (every second): while the database refuses the claims, one failed
# claim per probe per full scan.  Before, a failed claim kicked its probe,
# whose next sweep asked and claimed again: five failed claims (and as
# many warnings) per probe per full scan.  Once the database takes claims
# again, the push is delivered.
# The failure: a trigger refuses the claim of the test's push (UPDATE to
# 'sending'), the scans (reads) go on.  Full scans are counted by
# vantage_gateway_push_scan_probes_total{scan="all"} (one probe held).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
CHECK="/usr/bin/python3 $TOP/tests/helpers/prom_check.py"
M=$(t_free_port)
gw_start --threads 1 --metrics "127.0.0.1:$M" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
gw_cmdport "$T/cmd.log"
t_check "KEEP up" gw_keep
t_check "the KEEP's crontab push settled" gw_crontab_settled 1

t_check "claims of the test's push refused by a trigger" t_psql "
	CREATE FUNCTION t_refuse_claim() RETURNS trigger LANGUAGE plpgsql AS \$f\$
	BEGIN
		IF NEW.status = 'sending' AND NEW.batch LIKE '%-A 4999 %' THEN
			RAISE EXCEPTION 'test: claim refused';
		END IF;
		RETURN NEW;
	END \$f\$;
	CREATE TRIGGER t_refuse_claim BEFORE UPDATE ON probe_pushes
		FOR EACH ROW EXECUTE FUNCTION t_refuse_claim()"
ID=$(t_psql "INSERT INTO probe_pushes (probe_id, batch) VALUES ($PRB,
	\$b\$CRONTAB /home/atlas/crons/7
CRONLINE 240 1700000000 1900000000 UNIFORM 10 evping -4 -c 3 -A 4999 192.0.2.1
\$b\$) RETURNING id")
t_psql "SELECT pg_notify('vantage_push', '$ID')" >/dev/null

failures() { grep -c "push $ID: not claimed" "$T/gw.log"; }
failed_once() { [ "$(failures)" -ge 1 ]; }
t_check "the claim fails (push $ID)" t_wait 60 failed_once
# full scans so far, in ALL
full() {
	curl -sf --max-time 10 "http://127.0.0.1:$M/metrics" -o "$T/m.prom" || return 1
	ALL=$($CHECK "$T/m.prom" vantage_gateway_push_scan_probes_total "scan=all" |
		sed 's/\.0$//')
	[ -n "$ALL" ]
}
full_at_least() { full && [ "$ALL" -ge "$1" ]; }
t_check "full scans counted" full
A0=$ALL F0=$(failures)
t_check "three more full scans" t_wait 120 full_at_least $((A0 + 3))
F=$(( $(failures) - F0 ))
t_log "$F failed claims during $((ALL - A0)) full scans"
t_check "at most one failed claim per full scan ($F during $((ALL - A0)))" \
	[ "$F" -le $((ALL - A0 + 1)) ]
t_check "the claims were tried again" [ "$F" -ge 1 ]

t_psql "DROP TRIGGER t_refuse_claim ON probe_pushes"
ok() { [ "$(t_psql "SELECT status FROM probe_pushes WHERE id = $ID")" = ok ]; }
t_check "the push is delivered once the database takes claims again" t_wait 60 ok
t_check "... to the probe's command port" grep -q -- "-A 4999 " "$T/cmd.log"

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -30 "$T/gw.log" | sed 's/^/#   /'
fi
t_done
