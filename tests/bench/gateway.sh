#!/bin/bash
# gateway bench, one run, beside a reference measured in the same run:
#  1. memory per connected probe session in vantage-gateway (RSS growth
#     with N sessions held, each with KEEP and its forward, crontab pushed);
#  2. a reconnect storm: the gateway is SIGKILLed and restarted, and all S
#     probes come back at once, KEEP straight with the cached session id;
#     once with no jitter (the worst case) and once with the probe's first
#     backoff (uniform 0..1 s).  Wall time until all are back and recorded
#     in probe_sessions, the gateway's CPU time (/proc utime+stime) for it;
#  3. the reference: S bare libssh handshakes (key exchange + public-key
#     auth, tests/helpers/ssh_bare, same host key, same client) at once;
#     stock libssh, which rebuilds the RSA host key's signing state for
#     every session; with the RSA key also a second bare server that keeps
#     it as the gateway does (rsashare.h), so that the gateway's own work
#     above the handshake shows apart from that saving;
#  2 (without jitter) and 3 alternate GW_BENCH_ROUNDS times, and the CPU
#     ratios are given per round and as their median and range: each side
#     is its server process's own CPU (utime + stime of every thread, from
#     /proc, no other process), the gateway's from its restart's first
#     connection until every probe is back with KEEP (key exchange, auth,
#     the forward, KEEP's lookup and recording, the crontab pushes begun
#     meanwhile, its database threads), the bare server's for the S
#     handshakes;
#  2 and 3 for each host-key type (RSA, which stock probes need, and
#     ed25519), each with its own generator and probes;
#  4. herd safety: the gateway restarted with --max-sessions L and S > L
#     probes coming back at once with the probe's jittered backoff: when
#     L are back, how many connections were refused meanwhile, the
#     gateway's CPU and peak RSS (the excess is closed at accept, before
#     any key exchange).
# The load generator (tests/helpers/gw_load) is one process driving every
# simulated probe concurrently on non-blocking libssh sessions.
#
#   GW_BENCH_SESSIONS=N  sessions held for the memory figure (default 10000,
#                        the design goal: under 64 KiB each; the whole run
#                        takes several minutes on 2 cores, most of it the
#                        GW_BENCH_ROUNDS storms and bare runs per key type)
#   GW_BENCH_STORM=S     probes in the reconnect storm (default 10000; the
#                        goal: all back within 15 s with the RSA host key,
#                        gateway CPU at most 1.2x the bare handshakes)
#   GW_BENCH_HOSTKEYS="rsa ed25519"  host key types measured, in order (the
#                        first also gives the memory figure)
#   GW_BENCH_THREADS=N   the gateway's --threads (default: one per core)
#   GW_BENCH_HERD_LIMIT=L  --max-sessions of the herd run (default S/2;
#                        0: no herd run)
#   GW_BENCH_HANDSHAKES=H  the gateway's --max-handshakes (default: its own)
#   GW_BENCH_ROUNDS=R    rounds of storm (first jitter) and bare handshakes,
#                        alternated, per host-key type (default 3)
#   GW_BENCH_JITTERS="0 1000"  the storms' jitters (ms) with the first host
#                        key type (the others: the first jitter only)
#   GW_BENCH_LOG=LEVEL   the gateway's --log-level (default warn)
#   GW_BENCH_TRACE=FILE  during each storm, once a second: the gateway's CPU,
#                        its listen queue, connections, PostgreSQL's active
#                        backends by wait event and query, appended to FILE
#   GW_BENCH_PGSS=FILE   pg_stat_statements in the bench's cluster (it is
#                        restarted with the module): after each storm, its
#                        statements by total time (calls, rows, ms), appended
#                        to FILE
#   GW_BENCH_EXPLAIN=MS  with GW_BENCH_PGSS: auto_explain too (analyze, buffers,
#                        nested statements: the triggers' inner plans) of every
#                        statement over MS ms; the cluster's log is copied to
#                        FILE.server.log after each storm
# Every storm's probes are probes the gateway had before its SIGKILL: those
# the memory figure did not link (beyond GW_BENCH_SESSIONS, and every probe
# of the later host-key types) get the session address a past connection
# would have left (127.0.0.1, their system tags computed then) before their
# storm.  Without it the second host key's storm was its probes' first
# connection: the sessions-up statement (whose trigger computes the system
# tags of probes whose address changed) took 4.1 s of PostgreSQL for 10,000
# probes against 0.44 s for the same key type run alone (its storm then a
# reconnect), which was the whole of PostgreSQL's CPU per probe doubling
# from the first storm to the second.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/bench_lib.sh"
N=${GW_BENCH_SESSIONS:-10000}
S=${GW_BENCH_STORM:-10000}
HKS=${GW_BENCH_HOSTKEYS:-${GW_BENCH_HOSTKEY:-rsa ed25519}}
THREADS=${GW_BENCH_THREADS:-$(nproc)}
HERD=${GW_BENCH_HERD_LIMIT:-$((S / 2))}
HS=${GW_BENCH_HANDSHAKES:-}
JITTERS=${GW_BENCH_JITTERS:-0 1000}
JIT0=${JITTERS%% *}
ROUNDS=${GW_BENCH_ROUNDS:-3}
LOAD=$TOP/build/tests/gw_load
BARE=$TOP/build/tests/ssh_bare
[ -x "$LOAD" ] && [ -x "$BARE" ] && [ -x "$BIN/vantage-gateway" ] || { echo "build first"; exit 1; }
MAX=$((N > S ? N : S))
# One fd per session in the gateway and in the generator (separate limits),
# plus the database connections and the listening sockets.
want=$((MAX + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
	ulimit -Hn "$want" 2>/dev/null || { echo "fd hard limit $hard < $want"; exit 1; }
fi
ulimit -n "$want" || exit 1
somax=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo "?")
t_setup
t_pg_start >/dev/null || exit 1
if [ -n "${GW_BENCH_PGSS:-}" ]; then
	t_psql "ALTER SYSTEM SET shared_preload_libraries = pg_stat_statements${GW_BENCH_EXPLAIN:+, auto_explain}" >/dev/null
	"$TOP/scripts/pg" stop "$T/pg" >/dev/null
	VANTAGE_DB=$("$TOP/scripts/pg" start "$T/pg") || exit 1
	export VANTAGE_DB
	t_psql "CREATE EXTENSION pg_stat_statements" >/dev/null || exit 1
	if [ -n "${GW_BENCH_EXPLAIN:-}" ]; then
		for kv in "log_min_duration = ${GW_BENCH_EXPLAIN}" "log_nested_statements = on" \
			"log_analyze = on" "log_buffers = on"; do
			t_psql "ALTER SYSTEM SET auto_explain.$kv" >/dev/null || exit 1
		done
		t_psql "SELECT pg_reload_conf()" >/dev/null
	fi
fi
CTRL=$(t_free_port)
BPORT=$(t_free_port)
KPORT=$(t_free_port)
start_gw() { # [max-sessions]
	"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
		--ctrl-port "$CTRL" --host-keys "$T/keys" --name gw-bench \
		--max-sessions "${1:-$((MAX + 100))}" --threads "$THREADS" \
		${HS:+--max-handshakes "$HS"} \
		--login-grace 120 --log-level "${GW_BENCH_LOG:-warn}" \
		>>"$T/gw.log" 2>&1 3>&- 4>&- &
	GWPID=$!
	t_bg $GWPID
	t_wait 60 sh -c "ss -Htln 'sport = :$CTRL' | grep -q ."
}
# pg_procs: each process of the bench cluster: pid, CPU ms with its reaped
# children, its title (GW_BENCH_PGSS).
pg_procs() {
	local pm=$(head -1 "$T/pg/data/postmaster.pid") p
	for p in $pm $(pgrep -P "$pm"); do
		awk -v hz="$(getconf CLK_TCK)" -v p="$p" '{ s = $0; sub(/^[0-9]+ \(.*\) /, "", s)
			split(s, f, " "); printf "%s %d ", p, (f[12] + f[13] + f[14] + f[15]) * 1000 / hz }' \
			"/proc/$p/stat" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" && echo
	done
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# val KEY LINE: the value of KEY=VALUE in LINE.
val() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# ask COMMAND: sends a command to the generator; its answer line in $A.
ask() {
	echo "$1" >&3
	read -r -t 900 A <&4 || { echo "generator gave no answer to '$1'"; tail -5 "$T/load.err"; exit 1; }
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a < 0 || b <= 0) print "n/a"; else printf "%.2f", a / b }'; }
# spread VALUES...: "median M (min A, max B)" of numbers, n/a left out.
spread() {
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "n/a"; exit }
		      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "median %.2f (min %.2f, max %.2f, %d rounds)", m, v[1], v[NR], NR }'
}

echo "gateway bench: $(nproc) cores shared by the gateway ($THREADS loop threads,"
echo "  --max-handshakes ${HS:-default: 256 per thread}), the load"
echo "  generator, PostgreSQL and the bare server (wall times include the generator's"
echo "  own CPU); clients ed25519 keys; fd limit $(ulimit -n), somaxconn $somax"
start_gw || { echo "gateway did not start"; exit 1; }
"$BARE" "$T/keys" "$BPORT" >"$T/bare.out" 2>"$T/bare.err" 3>&- &
BAREPID=$!
t_bg $BAREPID
t_wait 10 grep -q listening "$T/bare.out" || { echo "bare server did not start"; exit 1; }
"$BARE" "$T/keys" "$KPORT" kept >"$T/kept.out" 2>"$T/kept.err" 3>&- &
KEPTPID=$!
t_bg $KEPTPID
t_wait 10 grep -q listening "$T/kept.out" || { echo "bare server (kept) did not start"; exit 1; }
mkfifo "$T/in" "$T/out"
# gen HOSTKEY: a generator (its own probes) offering that host-key type
gen() {
	"$LOAD" "$VANTAGE_DB" "$MAX" "$1" <"$T/in" >"$T/out" 2>>"$T/load.err" &
	LOADPID=$!
	t_bg $LOADPID
	exec 3>"$T/in" 4<"$T/out"
	read -r -t 900 ready <&4 || { echo "generator did not start"; cat "$T/load.err"; exit 1; }
}
gen_end() {
	echo quit >&3
	exec 3>&- 4<&-
	wait $LOADPID 2>/dev/null
}

# trace_start LABEL: the GW_BENCH_TRACE sampler, in the background.
trace_start() {
	[ -n "${GW_BENCH_TRACE:-}" ] || return 0
	(
		t0=$(date +%s.%N)
		hz=$(getconf CLK_TCK)
		echo "== $1 (gateway pid $GWPID)"
		while kill -0 $GWPID 2>/dev/null; do
			cpu=$(sed 's/.*) //' "/proc/$GWPID/stat" | awk -v hz="$hz" '{ print int(($12 + $13) * 1000 / hz) }')
			lq=$(ss -Htln "sport = :$CTRL" | awk '{ print $2 }' | head -1)
			est=$(ss -Htn state established "sport = :$CTRL" | wc -l)
			up=$(psql -X -At -d "$VANTAGE_DB" -c "SELECT count(*) FILTER (WHERE connected AND since > now() - interval '15 min') FROM probe_sessions" 2>/dev/null)
			act=$(psql -X -At -F' ' -d "$VANTAGE_DB" -c "SELECT coalesce(wait_event, 'cpu'), left(regexp_replace(query, '\s+', ' ', 'g'), 40), count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend' GROUP BY 1, 2" 2>/dev/null | tr '\n' ';')
			printf '%6.1fs cpu=%sms listenq=%s estab=%s up=%s | %s\n' \
				"$(echo "$(date +%s.%N) - $t0" | bc)" "$cpu" "$lq" "$est" "$up" "$act"
			sleep 1
		done
	) >>"$GW_BENCH_TRACE" 2>&1 &
	TRACEPID=$!
}
trace_stop() {
	[ -n "${TRACEPID:-}" ] || return 0
	kill $TRACEPID 2>/dev/null
	wait $TRACEPID 2>/dev/null
	TRACEPID=
}

# 2. reconnect storms after SIGKILL
storm() {
	kill -9 $GWPID
	wait $GWPID 2>/dev/null
	start_gw || { echo "gateway did not restart"; exit 1; }
	sleep 1   # the restart's own start-up work is not counted
	pg0=$(bench_pg_cpu_ms)
	[ -z "${GW_BENCH_PGSS:-}" ] || { t_psql "SELECT pg_stat_statements_reset()" >/dev/null
		pg_procs >"$T/procs0"; }
	trace_start "storm $S jitter $1"
	ask "storm $CTRL $S $1 $GWPID"
	trace_stop
	PGCPU=$(( $(bench_pg_cpu_ms) - pg0 ))
	[ -z "${GW_BENCH_PGSS:-}" ] || {
		echo "== storm $S jitter $1: CPU ms of the cluster's processes (ended ones in their parent's)"
		pg_procs | awk 'NR == FNR { t0[$1] = $2; next }
			{ d = $2 - ($1 in t0 ? t0[$1] : 0); $2 = ""; if (d > 0) print d, $0 }' \
			"$T/procs0" - | sort -rn | head -12
		echo "== storm $S jitter $1: statements by total time"
		psql "$VANTAGE_DB" -X -c "SELECT calls, rows,
			round(total_exec_time::numeric, 1) AS ms,
			left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query
			FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 30"
	} >>"$GW_BENCH_PGSS"
	[ -z "${GW_BENCH_EXPLAIN:-}" ] || cp "$T/pg/server.log" "$GW_BENCH_PGSS.server.log"
}
first=1
for HK in $HKS; do
	gen "$HK"
	echo
	echo "=== host key $HK"
	if [ $first = 1 ]; then
		# 1. memory
		sleep 1
		rss0=$(rss_kib $GWPID)
		ask "hold $CTRL $N 256"
		h=$A
		ok=$(val ok "$h")
		sleep 2
		rss1=$(rss_kib $GWPID)
		echo "memory: $ok of $N sessions held (GW_BENCH_SESSIONS=$N) (KEEP + forward, crontab pushed to $(val pushed "$h")),"
		echo "  linked in $(val ms "$h") ms with 256 handshakes in flight"
		echo "  gateway RSS: $rss0 KiB idle, $rss1 KiB with $ok sessions"
		[ "$ok" -gt 0 ] && echo "  memory per session: $(( (rss1 - rss0) / ok )) KiB (goal < 64 KiB)"
	fi
	t_psql "UPDATE probe_sessions SET from_addr = '127.0.0.1' WHERE from_addr IS NULL" ||
		{ echo "could not record the probes' past sessions"; exit 1; }
	# storm_print R: the figures of a storm's answer R
	storm_print() {
		echo "  back (KEEP up): $(val up "$1") of $S in $(val up_ms "$1") ms ($(val retries "$1") retries, $(val drops "$1") links lost after KEEP), gateway CPU $(val srv_cpu_up "$1") ms (sys $(val srv_sys_up "$1"))"
		echo "  recorded in probe_sessions: $(val recorded "$1") in $(val rec_ms "$1") ms, gateway CPU $(val srv_cpu_rec "$1") ms"
		echo "  crontab pushes answered: $(val pushed "$1") in $(val push_ms "$1") ms, gateway CPU $(val srv_cpu_push "$1") ms"
		echo "  generator CPU $(val cli_cpu "$1") ms; PostgreSQL CPU $PGCPU ms (until the pushes)"
		[ "$(val keep_output "$1")" = 0 ] || echo "  WARNING: the gateway wrote on KEEP $(val keep_output "$1") times"
	}
	# Storms without jitter and bare handshakes, alternated.
	r_up=() r_rec=() r_push=() r_kept=() r_wall=() backs=() within=0
	for round in $(seq "$ROUNDS"); do
		storm $JIT0
		r=$A
		[ $round = 1 ] && R0=$r
		echo "round $round: reconnect storm, $S probes at once after SIGKILL + restart, jitter 0..$JIT0 ms:"
		storm_print "$r"
		ask "bare $BPORT $S $BAREPID"
		b=$A
		echo "  reference, bare libssh server (stock): $(val ok "$b") of $S handshakes (kex + pubkey auth) at once in $(val ms "$b") ms, server CPU $(val srv_cpu "$b") ms (sys $(val srv_sys "$b")), generator CPU $(val cli_cpu "$b") ms"
		r_up+=("$(ratio "$(val srv_cpu_up "$r")" "$(val srv_cpu "$b")")")
		r_rec+=("$(ratio "$(val srv_cpu_rec "$r")" "$(val srv_cpu "$b")")")
		r_push+=("$(ratio "$(val srv_cpu_push "$r")" "$(val srv_cpu "$b")")")
		r_wall+=("$(ratio "$(val rec_ms "$r")" "$(val ms "$b")")")
		if [ "$HK" = rsa ]; then
			ask "bare $KPORT $S $KEPTPID"
			kb=$A
			echo "  reference, bare libssh server keeping the RSA key's signing state as the gateway does: $(val ok "$kb") of $S in $(val ms "$kb") ms, server CPU $(val srv_cpu "$kb") ms (sys $(val srv_sys "$kb"))"
			r_kept+=("$(ratio "$(val srv_cpu_up "$r")" "$(val srv_cpu "$kb")")")
		fi
		echo "  gateway CPU until back / bare CPU: ${r_up[-1]}${r_kept:+ (/ bare keeping the RSA state: ${r_kept[-1]})}"
		backs+=("$(awk -v ms="$(val rec_ms "$r")" 'BEGIN { printf "%.1f", ms / 1000 }')")
		[ "$(val up "$r")" = "$S" ] && [ "$(val rec_ms "$r")" -ge 0 ] &&
			[ "$(val rec_ms "$r")" -le 15000 ] && within=$((within + 1))
	done
	for jit in $JITTERS; do
		[ $first = 1 ] && [ $jit != "$JIT0" ] || continue
		storm $jit
		echo "reconnect storm, $S probes at once after SIGKILL + restart, jitter 0..$jit ms:"
		storm_print "$A"
	done
	echo "ratios, host key $HK (storm without jitter / bare, $S each, each side its server"
	echo "  process's own CPU: the gateway's every thread, from the restart until every"
	echo "  probe is back; the bare server's for the handshakes alone):"
	echo "  gateway CPU / bare CPU, until back (KEEP up): $(spread "${r_up[@]}")"
	echo "  gateway CPU / bare CPU, until recorded:     $(spread "${r_rec[@]}")"
	echo "  gateway CPU / bare CPU, with the pushes:    $(spread "${r_push[@]}")"
	[ "$HK" != rsa ] ||
	echo "  gateway CPU until back / bare keeping the RSA state: $(spread "${r_kept[@]}")"
	echo "  wall until recorded / bare wall:            $(spread "${r_wall[@]}")"
	echo "  generator CPU / wall, storm:                $(ratio "$(val cli_cpu "$R0")" "$(val up_ms "$R0")") cores (round 1)"
	echo "  all $S back and recorded within 15 s: $within of $ROUNDS rounds ($(printf '%s s ' "${backs[@]}"))"
	if [ $first = 1 ] && [ "$HERD" -gt 0 ] && [ "$HERD" -lt "$S" ]; then
		# 4. herd: twice the limit (by default) comes back at once
		kill -9 $GWPID
		wait $GWPID 2>/dev/null
		start_gw "$HERD" || { echo "gateway did not restart"; exit 1; }
		sleep 1
		ask "herd $CTRL $S 1000 $GWPID $HERD"
		hd=$A
		echo "herd: --max-sessions $HERD, $S probes back at once after SIGKILL + restart,"
		echo "  the probe's jittered backoff (first try 0..1 s, then 0..2^n s):"
		echo "  $(val up "$hd") of $HERD admitted in $(val up_ms "$hd") ms; $(val refused "$hd") connections refused meanwhile"
		echo "  gateway CPU $(val srv_cpu "$hd") ms, peak RSS $(val srv_peak_kib "$hd") KiB; generator CPU $(val cli_cpu "$hd") ms"
		kill -9 $GWPID
		wait $GWPID 2>/dev/null
		start_gw || { echo "gateway did not restart"; exit 1; }
	fi
	gen_end
	first=0
done
echo
echo "(gateway log: $(grep -c . "$T/gw.log") lines of warnings; generator stderr: $(grep -c . "$T/load.err") lines)"
head -3 "$T/gw.log" | sed 's/^/  /'
