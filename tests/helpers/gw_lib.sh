# gw_lib.sh - shared by tests/integration/gateway_*.sh (sourced after lib.sh):
# a probe key, a gateway on free ports, OpenSSH options pinned to its key.

# gw_setup: PostgreSQL, one registered probe ($PRB with key $T/probe_key,
# RSA as a stock probe's), host keys in $T/keys, ports $REG and $CTRL.
gw_setup() {
	command -v ssh >/dev/null || t_skip "no OpenSSH client"
	[ -x "$BIN/vantage-gateway" ] || t_skip "no vantage-gateway (make first)"
	t_pg_start || { t_notok "PostgreSQL starts"; t_done; exit 1; }
	ssh-keygen -q -t rsa -b 2048 -N '' -C probe -f "$T/probe_key"
	ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger_key"
	PRB=$("$BIN/vantage" probe add --pubkey "$T/probe_key.pub")
	REG=$(t_free_port)
	CTRL=$(t_free_port)
	CMDTOOL=$TOP/build/tests/gw_cmdport
}

# gw_start: starts the gateway in the background ($GWPID) and waits for it.
# With GW_NOFILE set, under that open-file limit (soft and hard).
gw_start() {
	${GW_NOFILE:+prlimit --nofile="$GW_NOFILE:$GW_NOFILE" --} \
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 \
		--reg-port "$REG" --ctrl-port "$CTRL" --ctrl-host 127.0.0.1 \
		--host-keys "$T/keys" --name gw-test --login-grace 10 \
		--keepalive 30 "$@" >>"$T/gw.log" 2>&1 &
	GWPID=$!
	t_bg "$GWPID"
	# Up when it listens; a gateway that exited will not be (say why).
	t_wait 120 sh -c "ss -Htln 'sport = :$CTRL' | grep -q . || ! kill -0 $GWPID" 2>/dev/null
	if ! ss -Htln "sport = :$CTRL" | grep -q .; then
		t_log "gateway not listening on $CTRL; its log ends:"
		tail -n 8 "$T/gw.log" | sed 's/^/#   /'
		return 1
	fi
	{
		echo "[127.0.0.1]:$REG $(cat "$T/keys/ssh_host_rsa_key.pub")"
		echo "[127.0.0.1]:$CTRL $(cat "$T/keys/ssh_host_rsa_key.pub")"
	} >"$T/known_hosts"
}

# gw_ssh ARGS...: OpenSSH as a stock probe does it: key auth only, the
# gateway's RSA key pinned, no prompts.  Background runs use
# `ssh "${GW_OPTS[@]}" ... &` so that $! is ssh itself.
gw_opts() {
	GW_OPTS=(-F /dev/null -o UserKnownHostsFile="$T/known_hosts"
		-o StrictHostKeyChecking=yes -o BatchMode=yes
		-o IdentitiesOnly=yes -o ConnectTimeout=10
		-o ServerAliveInterval=60 -i "${GW_KEY:-$T/probe_key}")
}
gw_ssh() {
	gw_opts
	ssh "${GW_OPTS[@]}" "$@"
}

# gw_init_ctrl: controller INIT; sets $SID and $RPORT.
gw_init_ctrl() {
	gw_ssh -p "$CTRL" atlas@127.0.0.1 INIT </dev/null >"$T/ctrl_init.out" 2>>"$T/ssh.err"
	SID=$(sed -n 's/^SESSION_ID //p' "$T/ctrl_init.out")
	RPORT=$(sed -n 's/^REMOTE_PORT //p' "$T/ctrl_init.out")
}

# gw_keep: the long-lived KEEP with both forwards, command port $CMDP
# ($GW_CMDP when set, so that a listener can be up first) forwarded, sink
# reachable on 127.0.0.1:$SINKP; waits until recorded.
gw_keep() {
	CMDP=${GW_CMDP:-$(t_free_port)}
	SINKP=$(t_free_port)
	gw_opts
	ssh "${GW_OPTS[@]}" -o ExitOnForwardFailure=yes -R "$RPORT:127.0.0.1:$CMDP" \
		-L "$SINKP:127.0.0.1:8080" -p "$CTRL" atlas@127.0.0.1 KEEP \
		</dev/null >"$T/keep.out" 2>>"$T/keep.err" &
	KEEPPID=$!
	t_bg "$KEEPPID"
	t_wait 20 gw_connected t &&
		t_wait 10 sh -c "ss -Htln 'sport = :$SINKP' | grep -q ."
}

# gw_post FILE PROBE_ID SESSION_ID: POSTs through the local forward (the
# client waits GW_POST_TIME, 120 s by default: a loaded machine may take
# long to COMMIT); prints the reply with its headers.
gw_post() {
	curl -s -i --max-time "${GW_POST_TIME:-120}" --data-binary "@$1" \
		-H 'Content-Type: application/x-www-form-urlencoded' \
		-H 'User-Agent: httppost for atlas.ripe.net' \
		"http://127.0.0.1:$SINKP/?PROBE_ID=$2&SESSION_ID=$3"
}

# gw_body_ok: stdin (an HTTP reply) is 200 with body "OK\n".
gw_body_ok() {
	r=$(tr -d '\r')
	printf '%s\n' "$r" | head -1 | grep -q ' 200 ' &&
		[ "$(printf '%s\n' "$r" | sed '1,/^$/d')" = OK ]
}

# gw_not_ok: stdin is anything but an acknowledgement.
gw_not_ok() { ! gw_body_ok; }

# gw_connected t|f: probe_sessions says the probe is (t) or is not (f)
# connected with its forward recorded.
gw_connected() {
	[ "$(t_psql "SELECT connected AND bind_addr IS NOT NULL FROM probe_sessions WHERE probe_id = $PRB")" = "$1" ]
}

# gw_hold SQL: another client runs SQL (its locks) in a transaction that it
# holds until $T/release appears (five minutes at most); returns once SQL
# ran (its output and "locked" in $T/lock.out).  Both ends of the pipe
# are the cleanup trap's: a test that fails before the release would
# otherwise leave the loop running.
gw_hold() {
	rm -f "$T/release" "$T/lock.out" "$T/hold.pid"
	(
		echo "$BASHPID" >"$T/hold.pid"
		printf 'BEGIN;\n%s;\n\\echo locked\n' "$1"
		n=0
		while [ ! -e "$T/release" ] && [ $n -lt 3000 ]; do sleep 0.1; n=$((n + 1)); done
		printf 'COMMIT;\n'
	) | psql "$VANTAGE_DB" -qtAX -v ON_ERROR_STOP=1 >"$T/lock.out" 2>&1 &
	t_bg $!
	t_wait 30 grep -qx locked "$T/lock.out"
	_gw_held=$?
	[ ! -s "$T/hold.pid" ] || t_bg "$(cat "$T/hold.pid")"
	return $_gw_held
}

gw_queue_count() { t_psql "SELECT count(*) FROM result_queue"; }

# gw_crontab_settled N: waits until the gateway's own crontab pushes (made
# when a KEEP comes up) number N and the newest is finished.  Tests that play the
# probe's command port start listening only after that, so the port sees
# just the pushes the test makes.
gw_crontab_done() {
	[ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE kind = 'crontab'")" -ge "$1" ] &&
	[ "$(t_psql "SELECT status FROM probe_pushes WHERE kind = 'crontab' ORDER BY id DESC LIMIT 1")" != pending ] &&
	[ "$(t_psql "SELECT status FROM probe_pushes WHERE kind = 'crontab' ORDER BY id DESC LIMIT 1")" != sending ]
}
gw_crontab_settled() {
	t_wait 15 gw_crontab_done "$1"
}

# gw_ctrl_backend: sets BE to the pid of the gateway's ($GWPID) control
# lane backend: its connection that ran the lane's statements (push scans,
# heartbeats), not its LISTEN one; fails unless there is exactly one.
gw_ctrl_backend() {
	_gw_pgport=$(printf '%s\n' "$VANTAGE_DB" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
	_gw_ports=$(ss -Htnp state established "dport = :$_gw_pgport" | grep "pid=$GWPID," |
		awk '{ sub(/.*:/, "", $3); print $3 }' | paste -sd,)
	[ -n "$_gw_ports" ] || return 1
	BE=$(t_psql "SELECT pid FROM pg_stat_activity WHERE client_port IN ($_gw_ports)
		AND query ~ 'probe_pushes|INSERT INTO gateways|probe_sessions'
		AND query !~ 'LISTEN'") && [ -n "$BE" ] && [ "$(echo "$BE" | wc -l)" = 1 ]
}

# gw_depth_at_least PORT LANE N: the gateway's metrics on 127.0.0.1:PORT
# show at least N jobs queued or running on LANE (ctrl, sink, auth).
gw_depth_at_least() {
	_gw_v=$(curl -sf --max-time 10 "http://127.0.0.1:$1/metrics" -o "$T/m.prom" &&
		/usr/bin/python3 "$TOP/tests/helpers/prom_check.py" "$T/m.prom" \
			vantage_gateway_db_lane_depth "lane=$2" | sed 's/\.0$//')
	[ -n "$_gw_v" ] && [ "$_gw_v" -ge "$3" ]
}
gw_ctrl_depth_at_least() { gw_depth_at_least "$1" ctrl "$2"; }

# gw_gen NAME DB KEYTYPE [CMD...]: starts the load generator ($LOAD,
# tests/helpers/gw_load) for $K probes with KEYTYPE client keys and
# database DB, under CMD when given (ip netns exec NS), on the fifos
# $T/NAME.in and $T/NAME.out: fd 3 takes its commands, fd 4 gives its
# answers, GENPID is its pid.  Returns once it says it is ready.
gw_gen() {
	_gw_n=$1 _gw_db=$2 _gw_kt=$3
	shift 3
	mkfifo "$T/$_gw_n.in" "$T/$_gw_n.out"
	"$@" "$LOAD" "$_gw_db" "$K" "$_gw_kt" <>"$T/$_gw_n.in" >"$T/$_gw_n.out" \
		2>>"$T/load.err" &
	GENPID=$!
	t_bg $GENPID
	exec 3>"$T/$_gw_n.in" 4<"$T/$_gw_n.out"
	read -r -t 300 _gw_ready <&4
}

# gw_ask LINE [SECONDS]: sends LINE to the gw_gen generator (fd 3) and
# waits (900 s at most) for its answer (fd 4), left in GW_ANSWER; gw_tell
# and gw_answer [SECONDS] are its two halves.  gw_said PATTERN: the answer
# matches PATTERN (grep).
gw_tell() { echo "$1" >&3; }
gw_answer() { GW_ANSWER=; read -r -t "${1:-900}" GW_ANSWER <&4; }
gw_ask() { gw_tell "$1"; gw_answer "${2:-900}"; }
gw_said() { printf '%s\n' "$GW_ANSWER" | grep -q -- "$1"; }

# gw_cmdport LOG [COUNT]: the probe's command port (gw_cmdport, COUNT
# connections, default 20) on a free port GW_CMDP, for probe PRB with
# session SID, logging to LOG; returns once it listens.
gw_cmdport() {
	GW_CMDP=$(t_free_port)
	"$CMDTOOL" "$GW_CMDP" "$PRB" "$SID" "$1" "${2:-20}" &
	t_bg $!
	t_wait 10 sh -c "ss -Htln 'sport = :$GW_CMDP' | grep -q ."
}

# gw_hold_batch: the set-up of the control lane's batch tests: the gateway
# with 2 loop threads and its metrics on $M (a free port), the generator
# (gw_gen gen, ed25519) with $K probes holding KEEP, all recorded up and
# their first crontab pushes settled.  Skips without curl or gw_load.
gw_hold_batch() {
	command -v curl >/dev/null || t_skip "no curl"
	LOAD=$TOP/build/tests/gw_load
	[ -x "$LOAD" ] || t_skip "no gw_load (make first)"
	M=$(t_free_port)
	gw_start --threads 2 --metrics "127.0.0.1:$M" ||
		{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
	gw_gen gen "$VANTAGE_DB" ed25519
	gw_ask "hold $CTRL $K 8" 600
	t_check "$K probes hold KEEP, crontab pushed ($GW_ANSWER)" \
		gw_said "ok=$K failed=0 .*pushed=$K"
	t_check "$K recorded up" t_wait 120 _gw_up "$K"
	t_check "their first crontab pushes settled" t_wait 120 _gw_settled
}
_gw_up() { [ "$(t_psql "SELECT count(*) FROM probe_sessions WHERE connected AND gateway = 'gw-test' AND bind_addr IS NOT NULL")" = "$1" ]; }
_gw_settled() { [ "$(t_psql "SELECT count(*) FROM probe_pushes WHERE kind = 'crontab' AND status IN ('pending', 'sending')")" = 0 ]; }

# gw_notify_stopped [LABEL]: the control lane's backend (gw_ctrl_backend)
# is stopped while the probes of the query $PIDS are NOTIFYed on
# vantage_crontab, until $K crontab jobs are queued (metrics on $M), then
# goes on; LAST gets the newest push id and LOG0 the size of the cluster's
# log from before.  LABEL prefixes the checks.
gw_notify_stopped() {
	t_wait 60 gw_ctrl_backend
	t_check "${1:+$1 }the control lane's backend found ($BE)" [ -n "$BE" ]
	LAST=$(t_psql "SELECT coalesce(max(id), 0) FROM probe_pushes")
	kill -STOP "$BE"
	LOG0=$(stat -c %s "$T/pg/server.log")
	t_psql "SELECT count(pg_notify('vantage_crontab', p::text)) FROM ($PIDS) s(p)" >/dev/null
	t_check "${1:+$1 }$K crontab jobs queued" t_wait 120 gw_ctrl_depth_at_least "$M" "$K"
	kill -CONT "$BE"
}
