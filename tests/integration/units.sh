#!/bin/bash
# The systemd units (scripts/systemd), as `make install` writes them:
# `systemd-analyze verify` finds nothing to say (no unknown key, every
# ExecStart= exists and is executable), the hardening and capabilities are
# those docs/operations.md promises, `systemd-analyze security` rates each
# "OK" or better, no ExecReload for a daemon without a SIGHUP handler, and
# every ExecStart= line with the example /etc/vantage files is a command
# line and a configuration its binary accepts (--check-config).  Nothing is started: PID 1 need not be systemd.
. "$(dirname "$0")/../lib.sh"
t_setup
cd "$TOP"
lack=
command -v systemd-analyze >/dev/null ||
	t_skip "systemd-analyze missing (scripts/deps installs systemd)"

# Installed into a prefix of its own, so ExecStart= names binaries that exist.
P=$T/prefix
U=$P/lib/systemd/system
make -s install PREFIX="$P" confdir="$P/etc/vantage" >"$T/install.log" 2>&1
t_check "make install PREFIX=$P" test $? = 0
units=$(cd "$U" && ls)
t_log "units: $(echo $units)"

out=$(systemd-analyze verify --man=no "$U"/* 2>&1); rc=$?
t_check "systemd-analyze verify: exit 0, nothing to say${out:+ ($out)}" \
	test "$rc" = 0 -a -z "$out"

# The check is not blind: an unknown key and a missing binary are reported.
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$U/vantage-worker@.service" >"$T/vantage-typo@.service"
t_check "verify reports a misspelt key" \
	grep -q "Unknown key" <(systemd-analyze verify --man=no "$T/vantage-typo@.service" 2>&1)
sed "s|^ExecStart=$P/sbin/|ExecStart=$T/nowhere/|" "$U/vantage-scheduler.service" >"$T/vantage-gone.service"
t_check "verify reports a missing binary" \
	sh -c "! systemd-analyze verify --man=no '$T/vantage-gone.service' >/dev/null 2>&1"

# key FILE: the values of KEY= in FILE, one per line.
val() { sed -n "s/^$1=//p" "$2"; }
src_dir() {
	case $1 in
	vantage-probe) echo probe ;;
	vantage-archiver) echo storage/archiver ;;
	*) echo "controller/${1#vantage-}" ;;
	esac
}
for f in "$U"/*.service; do
	u=${f##*/}
	b=$(val ExecStart "$f" | awk '{print $1}'); b=${b##*/}
	t_check "$u: runs as vantage" test "$(val User "$f")" = vantage
	for kv in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
		  PrivateDevices=yes ProtectKernelTunables=yes ProtectControlGroups=yes \
		  RestrictNamespaces=yes MemoryDenyWriteExecute=yes \
		  SystemCallFilter=@system-service SystemCallArchitectures=native \
		  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
		grep -qx "$kv" "$f" || lack="$lack $kv"
	done
	t_check "$u: hardening settings present${lack:+ (lacks$lack)}" test -z "$lack"
	lack=
	case $b in
	vantage-probe) caps=CAP_NET_RAW ;;
	vantage-gateway|vantage-api) caps=CAP_NET_BIND_SERVICE ;;
	*) caps= ;;
	esac
	t_check "$u: capabilities: ${caps:-none}" \
		test "$(val CapabilityBoundingSet "$f")" = "$caps" -a "$(val AmbientCapabilities "$f")" = "$caps"
	if [ "$(val Type "$f")" = oneshot ]; then
		t_check "$u: oneshot, started by its timer" test -f "$U/${u%.service}.timer"
	else
		t_check "$u: restarts on failure" test "$(val Restart "$f")" = on-failure
	fi
	if grep -rqs SIGHUP "$(src_dir "$b")"/*.c; then
		t_log "$u: $b handles SIGHUP; ExecReload may be added"
	else
		t_check "$u: no ExecReload ($b gives SIGHUP no meaning)" \
			test -z "$(val ExecReload "$f")"
	fi
	score=$(systemd-analyze security --offline=true --no-pager "$f" 2>&1 |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	t_check "$u: systemd-analyze security exposure ${score:-?} is OK (below 2.0)" \
		awk -v s="$score" 'BEGIN { exit !(s != "" && s < 2.0) }'

	# The command line with /etc/vantage -> the examples: the binary
	# accepts it and the example file (--check-config checks both).
	cmd=$(val ExecStart "$f" | sed -e "s|%S|$T/state|g" -e 's|%H|testhost|g' \
		-e 's|%i|1|g' -e "s|/etc/vantage/|$TOP/scripts/systemd/conf/|g")
	for c in $(grep -o '/etc/vantage/[a-z]*\.conf' "$f" | sort -u); do
		t_check "$u: $c has an example (scripts/systemd/conf)" \
			test -f "scripts/systemd/conf/${c##*/}"
	done
	# shellcheck disable=SC2086
	t_check "$u: '$cmd' with its example file passes --check-config" \
		sh -c "env -u VANTAGE_DB -u VANTAGE_ARCHIVE $cmd --check-config >/dev/null 2>'$T/err' && ! test -s '$T/err'"
done
for f in "$U"/*.timer; do
	u=${f##*/}
	t_check "$u: its service is installed" test -f "$U/${u%.timer}.service"
	t_check "$u: persistent (a run missed while down happens at boot)" \
		test "$(val Persistent "$f")" = true
done
# The privilege model of the units, run without systemd: an unprivileged
# user, no new privileges, and exactly the unit's AmbientCapabilities (as
# setpriv(1) sets them).  Traffic only to loopback.
# unit_priv UNIT: PRIV=(setpriv ...) runs a command as UNIT would, as nobody.
unit_priv() {
	local caps=$(val AmbientCapabilities "$U/$1" | tr 'A-Z ' 'a-z,' | sed 's/cap_//g')
	PRIV=(setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs
	      --inh-caps="-all${caps:+,+$caps}" --ambient-caps="-all${caps:+,+$caps}"
	      --bounding-set="-all${caps:+,+$caps}")
}
NOPRIV=(setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs
	--inh-caps=-all --bounding-set=-all)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	ping='evping -4 -c 1 -A 1001 127.0.0.1'
	unit_priv vantage-probe.service
	out=$("${PRIV[@]}" "$BIN/vantage-probe" --allow-private --run "$ping" 2>&1)
	t_check "probe as its unit runs it (unprivileged, CAP_NET_RAW only) pings" \
		grep -q '"rcvd":1' <<<"$out"
	if [ "$(cat /proc/sys/net/ipv4/ping_group_range)" = "$(printf '1\t0')" ]; then
		out=$("${NOPRIV[@]}" "$BIN/vantage-probe" --allow-private --run "$ping" 2>&1)
		t_check "... and cannot without CAP_NET_RAW (so the unit's capability is needed)" \
			grep -q 'no ICMP socket' <<<"$out"
	fi
	out=$("${PRIV[@]}" "$BIN/vantage-probe" --allow-private \
		--run 'evtraceroute -4 -c 1 -A 1002 127.0.0.1' 2>&1)
	t_check "probe as its unit runs it traces" grep -q '"from":"127.0.0.1"' <<<"$out"

	# The gateway binds a port below 1024 as an unprivileged user.
	low=
	for p in $(seq 700 999); do
		ss -Htln "sport = :$p" | grep -q . || { low=$p; break; }
	done
	if [ -n "$low" ] && t_pg_start; then
		mkdir -p "$T/hk" && chown nobody:nogroup "$T/hk"
		ctrl=$(t_free_port)
		unit_priv vantage-gateway.service
		"${PRIV[@]}" "$BIN/vantage-gateway" --db "$VANTAGE_DB" \
			--listen 127.0.0.1 --reg-port "$low" --ctrl-port "$ctrl" \
			--host-keys "$T/hk" --name unit-test >"$T/gw.log" 2>&1 &
		gw=$!; t_bg "$gw"
		t_check "gateway as its unit runs it (unprivileged, CAP_NET_BIND_SERVICE) listens on port $low" \
			t_wait 30 sh -c "ss -Htln 'sport = :$low' | grep -q ."
		t_check "... and made its host keys as that user" \
			test "$(stat -c %U "$T/hk/ssh_host_ed25519_key")" = nobody
		kill "$gw"; wait "$gw" 2>/dev/null
		t_check "... and is gone after SIGTERM" sh -c "! ss -Htln 'sport = :$low' | grep -q ."
		"${NOPRIV[@]}" "$BIN/vantage-gateway" --db "$VANTAGE_DB" \
			--listen 127.0.0.1 --reg-port "$low" --ctrl-port "$ctrl" \
			--host-keys "$T/hk" --name unit-test >"$T/gw2.log" 2>&1
		t_check "... and cannot without it (exit 1, port $low refused)" \
			grep -qi "permission denied" "$T/gw2.log"
	else
		t_notok "a free port below 1024 and PostgreSQL for the gateway check"
	fi
else
	t_log "not root or no setpriv: privilege checks skipped"
fi

n=$(ls "$BIN" | grep -c '^vantage-')
t_check "every daemon in $BIN has a unit ($n daemons)" \
	test "$(ls "$U" | grep -c '\.service$')" = "$n"
t_done
