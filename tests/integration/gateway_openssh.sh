#!/bin/bash
# gateway_openssh: a real OpenSSH client as the probe against vantage-gateway:
# registration and controller INIT, KEEP with the virtual remote forward and
# the local forward to the sink, a pushed batch, an upload landing once, and
# everything that must be refused.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
gw_start || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
t_ok "gateway starts, host keys made"
t_check "host keys are OpenSSH keys" sh -c "ssh-keygen -l -f $T/keys/ssh_host_rsa_key.pub && ssh-keygen -l -f $T/keys/ssh_host_ed25519_key.pub" >/dev/null
t_check "gateways row with RSA key" [ "$(t_psql "SELECT rsa_host_key FROM gateways WHERE name = 'gw-test'")" = "$(cut -d' ' -f2 "$T/keys/ssh_host_rsa_key.pub")" ]

# Registration INIT.
printf 'P_TO_R_INIT\nTOKEN_SPECS x86_64 1000 5120 linux/1/x86_64\nREASON_FOR_REGISTRATION NEW\n' |
	gw_ssh -p "$REG" atlas@127.0.0.1 INIT >"$T/reg.out" 2>>"$T/ssh.err"
t_check "registration INIT exits 0" [ $? = 0 ]
t_check "registration: OK first" [ "$(head -1 "$T/reg.out")" = OK ]
t_check "registration: PROBE_ID" grep -qx "PROBE_ID $PRB" "$T/reg.out"
t_check "registration: REGSERVER_TIMESTAMP" grep -qE '^REGSERVER_TIMESTAMP [0-9]+$' "$T/reg.out"
t_check "registration: CONTROLLER with the RSA key" grep -qx "CONTROLLER 127.0.0.1 $CTRL ssh-rsa $(cut -d' ' -f2 "$T/keys/ssh_host_rsa_key.pub")" "$T/reg.out"
t_check "registration: REREGISTER" grep -qE '^REREGISTER [0-9]+$' "$T/reg.out"
t_check "registration: no FIRMWARE_APPS" sh -c "! grep -q FIRMWARE_APPS '$T/reg.out'"
t_check "registration: TOKEN_SPECS recorded" [ "$(t_psql "SELECT token_specs FROM probes WHERE id = $PRB")" = "x86_64 1000 5120 linux/1/x86_64" ]

# Controller INIT.
gw_init_ctrl
t_check "controller INIT: OK" [ "$(head -1 "$T/ctrl_init.out")" = OK ]
t_check "controller INIT: SESSION_ID hex" sh -c "echo '$SID' | grep -qE '^[0-9a-f]{1,80}$'"
t_check "controller INIT: REMOTE_PORT" sh -c "echo '$RPORT' | grep -qE '^[0-9]{1,5}$'"
t_check "session id kept in probe_sessions" [ "$(t_psql "SELECT session_id FROM probe_sessions WHERE probe_id = $PRB")" = "$SID" ]

# KEEP with both forwards.
t_check "KEEP with -R and -L accepted" gw_keep
t_check "probe_sessions: connected from 127.0.0.1 via gw-test, bind localhost" \
	[ "$(t_psql "SELECT host(from_addr) || ' ' || gateway || ' ' || bind_addr FROM probe_sessions WHERE probe_id = $PRB")" = "127.0.0.1 gw-test localhost" ]
t_check "gateway listens only on its two ports" \
	[ "$(ss -Htlnp | grep "pid=$GWPID," | awk '{print $4}' | sed 's/.*://' | sort -n | tr '\n' ' ')" = "$(printf '%s\n' "$REG" "$CTRL" | sort -n | tr '\n' ' ')" ]
t_check "nothing listens on REMOTE_PORT" sh -c "! ss -Htln 'sport = :$RPORT' | grep -q ."

# The gateway pushed the probe's crontab (with the crons/main upload job)
# when KEEP came up; nothing answered on the command port yet.
t_check "crontab push on KEEP attempted" gw_crontab_settled 1
t_check "crontab push holds the upload job for this session" \
	[ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE kind = 'crontab' AND batch LIKE '%httppost%PROBE_ID=$PRB&SESSION_ID=$SID%'")" = 1 ]

# A pushed batch arrives on the client's side.
"$CMDTOOL" "$CMDP" "$PRB" "$SID" "$T/cmd.log" 1 &
t_bg $!
cat >"$T/batch" <<EOB
# periodic ping and a one-off
CRONTAB /home/atlas/crons/2
CRONLINE 240 1700000000 1900000000 UNIFORM 10 evping -4 -c 3 -A 1001 192.0.2.1
ONEOFF /home/atlas/crons/oneoff evping -4 -c 3 -A 1002 192.0.2.2
EOB
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 120 >"$T/push.out" 2>&1
t_check "probe push exits 0" [ $? = 0 ]
t_check "probe push prints OK" grep -q ': OK$' "$T/push.out"
t_check "push: crontab arrived" grep -qx "CRONLINE /home/atlas/crons/2 240 1700000000 1900000000 UNIFORM 10 evping -4 -c 3 -A 1001 192.0.2.1" "$T/cmd.log"
t_check "push: one-off arrived" grep -qx "ONEOFF /home/atlas/crons/oneoff evping -4 -c 3 -A 1002 192.0.2.2" "$T/cmd.log"
t_check "push: batch ended OK" grep -qx OK "$T/cmd.log"
t_check "push recorded ok" [ "$(t_psql "SELECT status || ' ' || outcome FROM probe_pushes WHERE kind = 'manual'")" = "ok OK" ]
"$BIN/vantage" probe push "$PRB" "$T/batch" --timeout 3 >"$T/push2.out" 2>&1
t_check "push with nobody on the command port fails (exit 1)" [ $? = 1 ]

# Uploads through -L.
{
	echo P_TO_C_REPORT
	echo 'RESULT {"id":"1001","fw":5120,"lts":3,"time":1700000240,"dst_addr":"192.0.2.1"}'
	echo 'RESULT 9000 done 1700000240 00:11:22:33:44:55'
	echo '9999 1700000240 /home/atlas/data/new/x'
	echo 'RESULT {"id":"1002","fw":5120,"lts":3,"time":1700000250,"dst_addr":"192.0.2.2"}'
	echo "SESSION_ID $SID"
} >"$T/up"
gw_post "$T/up" "$PRB" "$SID" >"$T/post.out"
t_check "upload answered 200 OK" gw_body_ok <"$T/post.out"
t_check "upload reply has a Date header" grep -qi '^Date: ' "$T/post.out"
t_check "upload landed exactly once (2 results)" [ "$(gw_queue_count)" = 2 ]
t_check "queued with probe id and from address" [ "$(t_psql "SELECT count(*) FROM result_queue WHERE probe_id = $PRB AND host(from_addr) = '127.0.0.1' AND session_id = '$SID'")" = 2 ]
t_check "queued line is the JSON" [ "$(t_psql "SELECT line FROM result_queue ORDER BY id LIMIT 1")" = '{"id":"1001","fw":5120,"lts":3,"time":1700000240,"dst_addr":"192.0.2.1"}' ]
gw_post "$T/up" "$PRB" "0123abcd" >"$T/post.out"
t_check "wrong SESSION_ID refused" gw_not_ok <"$T/post.out"
gw_post "$T/up" "$((PRB + 1))" "$SID" >"$T/post.out"
t_check "wrong PROBE_ID refused" gw_not_ok <"$T/post.out"
sed "s/^SESSION_ID .*/SESSION_ID 0123abcd/" "$T/up" >"$T/up_bad"
gw_post "$T/up_bad" "$PRB" "$SID" >"$T/post.out"
t_check "body SESSION_ID mismatch refused" gw_not_ok <"$T/post.out"
t_check "nothing landed from refused posts" [ "$(gw_queue_count)" = 2 ]
head -c 1100000 /dev/zero | tr '\0' 'x' >"$T/big"
gw_post "$T/big" "$PRB" "$SID" >"$T/post.out"
t_check "over 1 MB refused" gw_not_ok <"$T/post.out"
t_check "KEEP stays silent" [ ! -s "$T/keep.out" ]

# Everything else is refused.
gw_ssh -W 127.0.0.1:"$REG" -p "$CTRL" atlas@127.0.0.1 </dev/null >/dev/null 2>"$T/w.err"
t_check "ssh -W refused" grep -q "open failed" "$T/w.err"
gw_ssh -W 127.0.0.1:8080 -p "$REG" atlas@127.0.0.1 </dev/null >/dev/null 2>"$T/w2.err"
t_check "sink refused on the registration role" grep -q "open failed" "$T/w2.err"
OTHER=$(t_free_port)
gw_opts
ssh "${GW_OPTS[@]}" -N -L "$OTHER:127.0.0.1:$REG" -p "$CTRL" atlas@127.0.0.1 </dev/null 2>"$T/l.err" &
LPID=$!
t_bg $LPID
t_wait 10 sh -c "ss -Htln 'sport = :$OTHER' | grep -q ."
curl -s --max-time 5 "http://127.0.0.1:$OTHER/" >/dev/null 2>&1
t_wait 30 grep -q "open failed" "$T/l.err"
t_check "-L to another destination refused" grep -q "open failed" "$T/l.err"
kill $LPID 2>/dev/null
gw_ssh -T -p "$CTRL" atlas@127.0.0.1 </dev/null >"$T/shell.out" 2>"$T/shell.err"
t_check "shell refused" [ $? != 0 ]
gw_ssh -tt -p "$REG" atlas@127.0.0.1 INIT </dev/null >/dev/null 2>"$T/pty.err"
t_check "pty refused" grep -qi "PTY allocation request failed" "$T/pty.err"
gw_ssh -p "$CTRL" atlas@127.0.0.1 id </dev/null >"$T/exec.out" 2>&1
t_check "other exec refused" [ $? != 0 ]
gw_ssh -s -p "$CTRL" atlas@127.0.0.1 sftp </dev/null >/dev/null 2>&1
t_check "subsystem refused" [ $? != 0 ]
GW_KEY=$T/stranger_key gw_ssh -p "$REG" atlas@127.0.0.1 INIT </dev/null >/dev/null 2>"$T/stranger.err"
t_check "unregistered key refused" grep -q "Permission denied (publickey)" "$T/stranger.err"
gw_ssh -p "$REG" root@127.0.0.1 INIT </dev/null >/dev/null 2>"$T/root.err"
t_check "user other than atlas refused" grep -q "Permission denied (publickey)" "$T/root.err"
t_check "KEEP still up after all that" kill -0 "$KEEPPID"
t_check "gateway still up" kill -0 "$GWPID"

# Database away: an error, never OK; back: OK again.
pgport=$(echo "$VANTAGE_DB" | sed 's/.*port=\([0-9]*\).*/\1/')
"$TOP/scripts/pg" stop "$T/pg" >/dev/null 2>&1
gw_post "$T/up" "$PRB" "$SID" >"$T/post.out"
t_check "database stopped: upload not acknowledged" gw_not_ok <"$T/post.out"
t_check "database stopped: an error status" grep -qE '^HTTP/1.1 5[0-9][0-9]' "$T/post.out"
"$TOP/scripts/pg" start "$T/pg" "$pgport" >/dev/null
# A sink connection that just failed waits a second before it connects
# again, and answers 503 meanwhile; a probe posts again, as here.
post_ok() { gw_post "$T/up" "$PRB" "$SID" >"$T/post.out" && gw_body_ok <"$T/post.out"; }
t_check "database back: upload OK (posted again while refused)" t_wait 60 post_ok
t_check "database back: it landed once" [ "$(gw_queue_count)" = 4 ]
t_check "gateway survived" kill -0 "$GWPID"

kill "$KEEPPID" 2>/dev/null
t_wait 10 gw_connected f
t_check "disconnect recorded" [ "$(t_psql "SELECT connected FROM probe_sessions WHERE probe_id = $PRB")" = f ]
t_done
