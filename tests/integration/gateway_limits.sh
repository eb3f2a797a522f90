#!/bin/bash
# gateway_limits: what one registered key (or a stranger) can hold is
# bounded in count and time: authenticated connections per probe
# (--max-per-probe), failed authentication attempts (--max-auth-tries, as
# sshd's MaxAuthTries), connections without KEEP that hold no channel
# (--idle-timeout), and channels that never finish (--channel-timeout): a
# registration INIT whose stdin never closes, an upload request that never
# completes (408).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
alive() { n=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
gone() { [ "$(alive "$@")" = 0 ]; }

# ---- A: per-probe connections and authentication attempts ----
gw_start --max-per-probe 3 --idle-timeout 600 ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
gw_opts
pids=()
for i in 1 2 3 4 5; do
	ssh "${GW_OPTS[@]}" -N -p "$CTRL" atlas@127.0.0.1 </dev/null >/dev/null 2>"$T/n$i.err" &
	pids+=($!)
	t_bg $!
	# one after the other, so that the first three are the ones held
	[ "$i" -le 3 ] && t_wait 20 grep -q "probe $PRB: authenticated" "$T/gw.log" 2>/dev/null
done
two_refused() { [ "$(alive "${pids[@]}")" -le 3 ]; }
t_check "per probe: connections past 3 refused" t_wait 30 two_refused
t_check "per probe: 3 held, 2 refused" [ "$(alive "${pids[@]}")" = 3 ]
t_check "per probe: refusal logged" grep -q "probe $PRB: 3 connections held already" "$T/gw.log"
t_check "per probe: refused with Permission denied" sh -c "cat $T/n*.err | grep -q 'Permission denied'"
kill "${pids[@]}" 2>/dev/null
serves() { SID=; gw_init_ctrl; [ -n "$SID" ]; }
t_check "per probe: released when they close" t_wait 30 serves

# Ten keys none of which is registered: dropped after 6 failures.
keys=()
for i in $(seq 1 10); do
	ssh-keygen -q -t ed25519 -N '' -C "k$i" -f "$T/k$i"
	keys+=(-i "$T/k$i")
done
ssh -v -F /dev/null -o UserKnownHostsFile="$T/known_hosts" \
	-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes \
	-o ConnectTimeout=10 "${keys[@]}" -p "$CTRL" atlas@127.0.0.1 INIT \
	</dev/null >/dev/null 2>"$T/tries.err"
t_check "auth tries: the client fails" [ $? != 0 ]
answered=$(grep -c 'Authentications that can continue' "$T/tries.err")
t_log "auth tries: $answered failures answered (one of them to 'none')"
t_check "auth tries: at most 6 key attempts answered" [ "$answered" -le 7 ]
t_check "auth tries: disconnect logged" grep -q "6 failed authentication attempts, disconnecting" "$T/gw.log"
kill "$GWPID"; wait "$GWPID" 2>/dev/null

# ---- B: time bounds ----
gw_start --channel-timeout 3 --idle-timeout 3 ||
	{ t_notok "gateway restarts"; t_done; exit 1; }
gw_opts
ssh "${GW_OPTS[@]}" -N -p "$CTRL" atlas@127.0.0.1 </dev/null >/dev/null 2>"$T/idle.err" &
IDLE=$!
t_bg $IDLE
t_check "idle: an authenticated connection without KEEP or channel is closed" t_wait 60 gone $IDLE
t_check "idle: logged" grep -q "probe $PRB: connection from 127.0.0.1 idle" "$T/gw.log"

mkfifo "$T/never"
exec 9<>"$T/never"   # held open: INIT's stdin never ends
ssh "${GW_OPTS[@]}" -p "$REG" atlas@127.0.0.1 INIT <"$T/never" >"$T/stdin.out" 2>"$T/stdin.err" &
STDIN=$!
t_bg $STDIN
t_check "INIT stdin: a registration INIT whose stdin never closes is ended" t_wait 60 gone $STDIN
t_check "INIT stdin: logged" grep -q "probe $PRB: registration INIT channel timed out" "$T/gw.log"
exec 9>&-

gw_init_ctrl
t_check "sink: KEEP up" gw_keep
exec 5<>"/dev/tcp/127.0.0.1/$SINKP"
printf 'POST /?PROBE_ID=%s&SESSION_ID=%s HTTP/1.1\r\nContent-Length: 100\r\n\r\nP_TO_C_REP' "$PRB" "$SID" >&5
timeout 60 cat <&5 >"$T/slow.out"
exec 5>&-
t_check "sink: an upload request never completed gets 408" grep -q '^HTTP/1.1 408' "$T/slow.out"
t_check "sink: logged" grep -q "probe $PRB: upload request not complete in 3 s, 408" "$T/gw.log"
printf 'P_TO_C_REPORT\nRESULT {"id":"1001","ok":1}\nSESSION_ID %s\n' "$SID" >"$T/up"
gw_post "$T/up" "$PRB" "$SID" >"$T/post.out"
t_check "sink: a complete upload is still OK" gw_body_ok <"$T/post.out"
t_check "KEEP outlives the timeouts" kill -0 "$KEEPPID"
t_check "gateway still running" kill -0 "$GWPID"
t_done
