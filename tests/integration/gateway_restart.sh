#!/bin/bash
# gateway_restart: SIGKILL the gateway while a probe uploads; every
# acknowledged result is in result_queue, and after a restart the probe's
# KEEP with its old session id (no INIT) is accepted: pushes log in with
# that id and uploads under it are acknowledged.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_init_ctrl
t_check "controller INIT" [ -n "$SID" ]
t_check "KEEP up" gw_keep

# Uploads, one result each, while the gateway is killed.
: >"$T/acked"
(
	for i in $(seq 1 200); do
		printf 'P_TO_C_REPORT\nRESULT {"id":"1001","n":%d}\nSESSION_ID %s\n' "$i" "$SID" >"$T/up.$i"
		if gw_post "$T/up.$i" "$PRB" "$SID" 2>/dev/null | gw_body_ok; then
			echo "$i" >>"$T/acked"
		fi
	done
) &
UPPID=$!
t_bg $UPPID
t_wait 20 sh -c "[ \$(wc -l <'$T/acked') -ge 5 ]"
kill -9 "$GWPID"
wait "$UPPID" 2>/dev/null
n=$(wc -l <"$T/acked")
t_check "some uploads were acknowledged before the kill ($n)" [ "$n" -ge 5 ]
missing=0
for i in $(cat "$T/acked"); do
	[ "$(t_psql "SELECT count(*) FROM result_queue WHERE line = '{\"id\":\"1001\",\"n\":$i}'")" = 1 ] || missing=$((missing + 1))
done
t_check "every acknowledged result is queued exactly once" [ "$missing" = 0 ]
t_wait 10 sh -c "! kill -0 $KEEPPID 2>/dev/null"
t_check "the probe's KEEP ended with the gateway" sh -c "! kill -0 $KEEPPID 2>/dev/null"

# Restart (with room for one connection only); KEEP straight away with the
# cached port and old session id.
gw_start --max-sessions 1 || { t_notok "gateway restarts"; t_done; exit 1; }
t_check "restart marks the old session disconnected" gw_connected f
t_check "session id survived the restart" [ "$(t_psql "SELECT session_id FROM probe_sessions WHERE probe_id = $PRB")" = "$SID" ]
t_check "KEEP with the old session id accepted" gw_keep
t_check "KEEP silent" [ ! -s "$T/keep.out" ]
# (a crontab push still pending from before the restart is replaced by it)
t_check "crontab pushed again on the new KEEP" gw_crontab_settled 1
"$CMDTOOL" "$CMDP" "$PRB" "$SID" "$T/cmd.log" 1 &
t_bg $!
printf 'CRONTAB /home/atlas/crons/2\nCRONLINE 60 1700000000 1900000000 NONE 0 evping -4 -c 3 -A 1001 192.0.2.1\n' >"$T/batch"
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 120 >"$T/push.out" 2>&1
t_check "push after restart logs in with the old session id" [ $? = 0 ]
t_check "push arrived" grep -qx OK "$T/cmd.log"
before=$(gw_queue_count)
printf 'P_TO_C_REPORT\nRESULT {"id":"1001","n":"after"}\nSESSION_ID %s\n' "$SID" >"$T/up.after"
gw_post "$T/up.after" "$PRB" "$SID" >"$T/post.out"
t_check "upload under the old session id acknowledged" gw_body_ok <"$T/post.out"
t_check "and queued" [ "$(gw_queue_count)" = $((before + 1)) ]

# The session limit refuses more connections cleanly; the held one goes on.
gw_ssh -p "$CTRL" atlas@127.0.0.1 INIT </dev/null >"$T/full.out" 2>"$T/full.err"
t_check "connection over --max-sessions refused" [ $? = 255 ]
t_check "nothing answered over the limit" [ ! -s "$T/full.out" ]
t_check "the held KEEP is untouched" kill -0 "$KEEPPID"
kill "$KEEPPID"
t_wait 10 gw_connected f

# A probe that never ran INIT is sent back to registration (output on KEEP).
ssh-keygen -q -t ed25519 -N '' -f "$T/new_key"
"$BIN/vantage" probe add --pubkey "$T/new_key.pub" >/dev/null
# (The key is new to the gateway's key cache: the first attempt is denied
# while the gateway looks it up in the background; a probe tries again.)
new_keep() {
	GW_KEY=$T/new_key gw_ssh -p "$CTRL" atlas@127.0.0.1 KEEP </dev/null >"$T/new.out" 2>/dev/null
	grep -qx REFUSED "$T/new.out"
}
t_check "KEEP without a session answers REFUSED" t_wait 20 new_keep

# A probe added while the gateway runs is in its key cache without a denied
# first attempt: the insert NOTIFYs vantage_keys and the cache is reloaded.
ssh-keygen -q -t ed25519 -N '' -f "$T/added_key"
"$BIN/vantage" probe add --pubkey "$T/added_key.pub" >/dev/null
NPROBES=$(t_psql "SELECT count(*) FROM probes")
t_check "key cache reloaded on the NOTIFY ($NPROBES probes)" \
	t_wait 30 grep -q "key cache: $NPROBES probes" "$T/gw.log"
GW_KEY=$T/added_key gw_ssh -p "$CTRL" atlas@127.0.0.1 KEEP </dev/null >"$T/added.out" 2>/dev/null
t_check "the added probe's first connection is authenticated (REFUSED: no session)" \
	grep -qx REFUSED "$T/added.out"
t_check "gateway still up" kill -0 "$GWPID"
t_done
