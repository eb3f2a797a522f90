#!/bin/bash
# gateway_dbstall: a stalled database holds up only the work that waits
# for it.  While another client holds result_queue locked, probe A's
# upload is not acknowledged, and meanwhile probe B authenticates, runs
# controller INIT and KEEP and receives a pushed batch.  Once the lock is
# released A's upload is acknowledged and its result is queued exactly once.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v curl >/dev/null || t_skip "no curl"
ssh-keygen -q -t ed25519 -N '' -C probe-b -f "$T/b_key"
PRB_A=$PRB
PRB_B=$("$BIN/vantage" probe add --pubkey "$T/b_key.pub")
# Uploads may wait for their COMMIT far longer than this test holds the lock.
gw_start --db-timeout 300 || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }

# Probe A: INIT and KEEP before the stall.
gw_init_ctrl
SID_A=$SID
t_check "probe A: controller INIT" [ -n "$SID_A" ]
t_check "probe A: KEEP up" gw_keep
SINKP_A=$SINKP
KEEPPID_A=$KEEPPID
t_check "probe A: its crontab push settled" gw_crontab_settled 1

# Another client locks result_queue until $T/release appears.
gw_hold "LOCK TABLE result_queue IN ACCESS EXCLUSIVE MODE"
t_check "result_queue locked by another transaction" grep -qx locked "$T/lock.out"

# Probe A uploads: its INSERT waits for the lock, so no reply yet.
printf 'P_TO_C_REPORT\nRESULT {"id":"1001","probe":"A","stall":1}\nSESSION_ID %s\n' "$SID_A" >"$T/up.a"
curl -s -i --max-time 200 --data-binary "@$T/up.a" \
	-H 'Content-Type: application/x-www-form-urlencoded' \
	-H 'User-Agent: httppost for atlas.ripe.net' \
	"http://127.0.0.1:$SINKP_A/?PROBE_ID=$PRB_A&SESSION_ID=$SID_A" >"$T/a.out" 2>&1 &
CURLPID=$!
t_bg $CURLPID
lock_waiters() {
	[ "$(t_psql "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'result_queue'::regclass")" -ge 1 ]
}
t_wait 30 lock_waiters
t_check "probe A's upload waits for the lock" lock_waiters
t_check "probe A has no answer yet" [ ! -s "$T/a.out" ]

# Probe B, meanwhile: authentication, INIT, KEEP, a push.
GW_KEY=$T/b_key gw_init_ctrl
SID_B=$SID
t_check "probe B: controller INIT answered during the stall" [ -n "$SID_B" ]
PRB=$PRB_B
GW_KEY=$T/b_key gw_keep
t_check "probe B: KEEP up and recorded during the stall" gw_connected t
t_check "probe B: its crontab push settled" gw_crontab_settled 2
"$CMDTOOL" "$CMDP" "$PRB_B" "$SID_B" "$T/cmd.log" 1 &
t_bg $!
printf 'CRONTAB /home/atlas/crons/2\nCRONLINE 60 1700000000 1900000000 NONE 0 evping -4 -c 3 -A 1001 192.0.2.1\n' >"$T/batch"
"$BIN/vantage" probe push "$PRB_B" "$T/batch" --timeout 60 >"$T/push.out" 2>&1
t_check "probe B: push acknowledged during the stall" [ $? = 0 ]
t_check "probe B: batch arrived" grep -qx OK "$T/cmd.log"
t_check "probe B: the crontab line arrived" grep -q "^CRONLINE /home/atlas/crons/2 60 1700000000 " "$T/cmd.log"
t_check "probe A still has no answer" [ ! -s "$T/a.out" ]
t_check "and its upload still waits" lock_waiters

# Release: A is acknowledged, once.  (Nothing here reads result_queue
# before: a reader would wait for the lock too.)
touch "$T/release"
t_wait 60 sh -c "! kill -0 $CURLPID 2>/dev/null"
t_check "probe A: upload acknowledged after the lock is gone" gw_body_ok <"$T/a.out"
t_check "probe A: its result queued exactly once" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE probe_id = $PRB_A AND line = '{\"id\":\"1001\",\"probe\":\"A\",\"stall\":1}'")" = 1 ]
t_check "nothing else queued" [ "$(gw_queue_count)" = 1 ]
t_check "probe A's KEEP is still up" kill -0 "$KEEPPID_A"
t_check "gateway still up" kill -0 "$GWPID"
t_done
