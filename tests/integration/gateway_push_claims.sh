#!/bin/bash
# gateway_push_claims: the gateway's push scan and claims, with an OpenSSH
# client as the probe and gw_cmdport on its command port:
#  (a) 300 pending pushes of a probe connected nowhere (older than any
#      other) do not keep a push from the probe the gateway holds;
#  (b) a push claimed by a gateway that died (claim older than the lease)
#      goes back to pending and is delivered; the one-off it held is let go
#      and reaches the probe once, with the next crontab push;
#  (c) a push this gateway claimed before it restarted is delivered;
#  (d) a push past its expiry is expired and never sent; pending pushes of
#      a probe connected nowhere for 10 minutes are expired as orphaned; a
#      crontab push with a newer one is expired as superseded; the other
#      probe's recent pushes stay pending, none of them sent.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup

ssh-keygen -q -t ed25519 -N '' -C away -f "$T/away_key"
AWAY=$("$BIN/vantage" probe add --pubkey "$T/away_key.pub")
t_check "second probe (never connected) added" test -n "$AWAY"
# A one-off on the probe, Ongoing (made straight in the database: no
# scheduler runs here).
M=$(echo "{\"definitions\": [{\"type\": \"ping\", \"af\": 4, \"packets\": 1,
  \"target\": \"192.0.2.9\", \"description\": \"held\"}], \"is_oneoff\": true,
  \"probes\": [{\"type\": \"probes\", \"value\": \"$PRB\", \"requested\": 1}]}" |
	"$BIN/vantage" msm create -)
t_psql "UPDATE measurements SET status = 2 WHERE id = $M"
line() { echo "CRONTAB /home/atlas/crons/5
CRONLINE 240 1700000000 1900000000 UNIFORM 10 evping -4 -c 3 -A $1 192.0.2.1"; }
t_psql "INSERT INTO probe_pushes (probe_id, batch)
	SELECT $AWAY, \$b\$$(line 6000)\$b\$ FROM generate_series(1, 300);
	INSERT INTO probe_pushes (probe_id, batch, created)
	SELECT $AWAY, \$b\$$(line 6001)\$b\$, now() - interval '1 hour'
	FROM generate_series(1, 5);
	INSERT INTO probe_pushes (probe_id, batch, kind)
	VALUES ($AWAY, \$b\$$(line 6002)\$b\$, 'crontab'),
	       ($AWAY, \$b\$$(line 6003)\$b\$, 'crontab')"
DEAD=$(t_psql "INSERT INTO probe_pushes (probe_id, batch, status, gateway)
	VALUES ($PRB, \$b\$$(line 7001)\$b\$, 'sending', 'gw-dead') RETURNING id")
t_check "a dead gateway's claim, an hour old, holds the one-off" \
	t_psql "UPDATE probe_pushes SET claimed = now() - interval '1 hour'
		WHERE id = $DEAD;
		INSERT INTO assignments (msm_id, probe_id, push_id) VALUES ($M, $PRB, $DEAD)"
OWN=$(t_psql "INSERT INTO probe_pushes (probe_id, batch, status, gateway)
	VALUES ($PRB, \$b\$$(line 7002)\$b\$, 'sending', 'gw-test') RETURNING id")
t_check "a fresh claim of this gateway from before its restart" \
	t_psql "UPDATE probe_pushes SET claimed = now() WHERE id = $OWN"
LATE=$(t_psql "INSERT INTO probe_pushes (probe_id, batch)
	VALUES ($PRB, \$b\$$(line 7003)\$b\$) RETURNING id")
t_check "a pending push past its expiry" \
	t_psql "UPDATE probe_pushes SET expires = now() - interval '1 second' WHERE id = $LATE"

gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
gw_cmdport "$T/cmd.log"
t_check "KEEP up" gw_keep

status() { t_psql "SELECT status || ' ' || coalesce(outcome, '') || ' ' || coalesce(gateway, '') FROM probe_pushes WHERE id = $1"; }
is_status() { [ "$(status "$1")" = "$2" ]; }
sent() { grep -c -- "-A $1 " "$T/cmd.log"; }

t_check "(b) the dead gateway's claim taken back, delivered here" \
	t_wait 30 is_status "$DEAD" "ok OK gw-test"
t_check "(c) the claim from before the restart delivered" \
	t_wait 30 is_status "$OWN" "ok OK gw-test"
crontab_ok() {
	[ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE probe_id = $PRB
		AND kind = 'crontab' AND status = 'ok'")" -ge 1 ]
}
t_check "the probe's crontab push delivered" t_wait 30 crontab_ok
t_check "(b) the one-off let go by the lost claim is delivered" \
	test "$(t_psql "SELECT delivered IS NOT NULL AND push_id IS NULL FROM assignments
		WHERE msm_id = $M AND probe_id = $PRB")" = t
t_check "(b) ... and reached the probe once" test "$(sent "$M")" = 1

# (a) a push made now, behind 300 older pending ones of the other probe
cat >"$T/batch" <<EOB
CRONTAB /home/atlas/crons/6
CRONLINE 240 1700000000 1900000000 UNIFORM 10 evping -4 -c 3 -A 7004 192.0.2.1
EOB
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 30 >"$T/push.out" 2>&1
t_check "(a) push to the probe held here OK past 300 pending of another" \
	grep -q ': OK$' "$T/push.out"
t_check "(a) it arrived" test "$(sent 7004)" = 1
t_check "(b,c) each delivered once" test "$(sent 7001) $(sent 7002)" = "1 1"

t_check "(d) the push past its expiry expired" is_status "$LATE" "expired EXPIRED "
t_check "(d) ... never sent" test "$(sent 7003)" = 0
t_check "(d) 5 pushes pending an hour for a probe connected nowhere: orphaned" \
	test "$(t_psql "SELECT count(*) FROM probe_pushes WHERE probe_id = $AWAY
		AND status = 'expired' AND outcome = 'ORPHANED'")" = 5
t_check "(d) an older crontab push superseded by a newer one" \
	test "$(t_psql "SELECT string_agg(status || ' ' || coalesce(outcome, ''), ',' ORDER BY id)
		FROM probe_pushes WHERE probe_id = $AWAY AND kind = 'crontab'")" = \
		"expired SUPERSEDED,pending "
t_check "(d) the other probe's recent pushes still pending" \
	test "$(t_psql "SELECT count(*) FROM probe_pushes WHERE probe_id = $AWAY
		AND kind = 'manual' AND status = 'pending'")" = 300
t_check "(d) nothing of the other probe sent here" \
	test "$(sent 6000)$(sent 6001)$(sent 6002)$(sent 6003)" = 0000
t_check "no claim left" test "$(t_psql "SELECT count(*) FROM probe_pushes
	WHERE status = 'sending'")" = 0

if [ "$T_FAIL" -ne 0 ]; then
	t_log "gateway log:"; tail -30 "$T/gw.log" | sed 's/^/#   /'
	t_log "pushes of the probe:"; t_psql "SELECT id, kind, status, outcome, gateway
		FROM probe_pushes WHERE probe_id = $PRB ORDER BY id" | sed 's/^/#   /'
	t_log "command port:"; sed 's/^/#   /' "$T/cmd.log"
fi
t_done
