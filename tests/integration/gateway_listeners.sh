#!/bin/bash
# gateway_listeners: the listeners a stock RIPE Atlas probe can verify and
# the gateways registration hands out.
#   1. An RSA host key a stock probe cannot take (3072 bits: 544 base64
#      characters, its atlasinit takes 512) is refused at start, saying why.
#   2. The RSA-only listeners offer ssh-rsa and nothing else; OpenSSH with a
#      plain `host ssh-rsa KEY` known_hosts (the stock probe's style, no
#      [host]:port) registers and INITs there on ports other than 22, and
#      fails on a listener that also offers ed25519.
#   3. Registration sends a probe with an RSA key to the RSA-only controller
#      port with the ssh-rsa key, a probe with an ed25519 key to the
#      controller port with the ed25519 key; REREGISTER is 3240.
#   4. A gateway stopped with SIGTERM leaves registration's list at once; one
#      killed leaves it when its heartbeat is a few seconds old.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup
command -v ssh-keyscan >/dev/null || t_skip "no ssh-keyscan"

# --- 1. an RSA key the stock probe cannot take ---
mkdir -p "$T/bigkeys"
ssh-keygen -q -t rsa -b 3072 -N '' -f "$T/bigkeys/ssh_host_rsa_key"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port 0 \
	--ctrl-port "$(t_free_port)" --host-keys "$T/bigkeys" --name gw-big \
	>"$T/big.out" 2>&1
rc=$?
t_check "a 3072-bit RSA host key is refused at start (exit $rc)" test "$rc" = 1
t_check "... saying why (512 base64 characters, the stock probe)" \
	grep -q "RSA host key of about 3072 bits (544 base64 characters) refused: a stock RIPE Atlas probe" "$T/big.out"
t_check "... and what to do" grep -q "use a 2048-bit key" "$T/big.out"

# --- 2. the listeners ---
RREG=$(t_free_port) RCTRL=$(t_free_port)
gw_start --rsa-reg-port "$RREG" --rsa-ctrl-port "$RCTRL" ||
	{ t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
t_ok "gateway starts with four listeners"
RSA=$(cut -d' ' -f2 "$T/keys/ssh_host_rsa_key.pub")
ED=$(cut -d' ' -f2 "$T/keys/ssh_host_ed25519_key.pub")
t_check "the RSA key it made is 2048 bits" sh -c "ssh-keygen -l -f '$T/keys/ssh_host_rsa_key.pub' | grep -q '^2048 '"
types() { ssh-keyscan -p "$1" 127.0.0.1 2>/dev/null | awk '{ print $2 }' | sort -u | tr '\n' ' '; }
is() { if [ "$2" = "$3" ]; then t_ok "$1"; else t_notok "$1: got '$2', want '$3'"; fi; }
is "RSA-only registration port offers ssh-rsa alone" "$(types "$RREG")" "ssh-rsa "
is "RSA-only controller port offers ssh-rsa alone" "$(types "$RCTRL")" "ssh-rsa "
t_check "the other ports offer ed25519" sh -c "ssh-keyscan -p '$CTRL' 127.0.0.1 2>/dev/null | grep -q ssh-ed25519"

# The stock probe's known_hosts: plain lines, no [host]:port.
echo "127.0.0.1 ssh-rsa $RSA" >"$T/known_hosts"
REGIN='P_TO_R_INIT\nTOKEN_SPECS x86_64 1000 5120 linux/1/x86_64\nREASON_FOR_REGISTRATION NEW\n'
register() { # PORT [KEY]: the reply in $T/reg.out
	# shellcheck disable=SC2059
	printf "$REGIN" | GW_KEY=${2:-} gw_ssh -p "$1" atlas@127.0.0.1 INIT >"$T/reg.out" 2>"$T/reg.err"
}
t_check "stock-style registration on the RSA-only port" register "$RREG"
t_check "CONTROLLER: the RSA-only controller port, ssh-rsa" \
	grep -qx "CONTROLLER 127.0.0.1 $RCTRL ssh-rsa $RSA" "$T/reg.out"
t_check "REREGISTER 3240 (stranded probes back within an hour)" grep -qx "REREGISTER 3240" "$T/reg.out"
gw_ssh -p "$RCTRL" atlas@127.0.0.1 INIT </dev/null >"$T/init.out" 2>"$T/init.err"
t_check "stock-style controller INIT on the RSA-only controller port" grep -qx OK "$T/init.out"
if gw_ssh -p "$CTRL" atlas@127.0.0.1 INIT </dev/null >"$T/init.out" 2>"$T/init.err"; then
	t_notok "on a port that also offers ed25519 the same client fails"
else
	t_ok "on a port that also offers ed25519 the same client fails"
fi
t_check "... with OpenSSH's reason (no ED25519 key known)" grep -q "ED25519 host key" "$T/init.err"

# An ed25519 probe (Vantage's own) goes to the controller port, ed25519 key.
ssh-keygen -q -t ed25519 -N '' -C vp -f "$T/vp_key"
"$BIN/vantage" probe add --pubkey "$T/vp_key.pub" >/dev/null
echo "[127.0.0.1]:$REG ssh-ed25519 $ED" >>"$T/known_hosts"
# (the gateway's key cache takes the new key on the NOTIFY of its insert)
NPROBES=$(t_psql "SELECT count(*) FROM probes")
t_wait 30 grep -q "key cache: $NPROBES probes" "$T/gw.log"
t_check "ed25519 probe registers" register "$REG" "$T/vp_key"
t_check "CONTROLLER: the controller port, ssh-ed25519" \
	grep -qx "CONTROLLER 127.0.0.1 $CTRL ssh-ed25519 $ED" "$T/reg.out"

# --- 4. leaving the list ---
# A second gateway (registration goes through it); ties go to the first
# name, gw-test.
B_CTRL=$(t_free_port) B_REG=$(t_free_port)
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$B_REG" \
	--ctrl-port "$B_CTRL" --rsa-ctrl-port "$(t_free_port)" --host-keys "$T/keys" \
	--name gw-z >>"$T/gwz.log" 2>&1 &
t_bg $!
echo "[127.0.0.1]:$B_REG ssh-ed25519 $ED" >>"$T/known_hosts"
handed() { register "$B_REG" "$T/vp_key" && grep -q "^CONTROLLER 127.0.0.1 $1 " "$T/reg.out"; }
t_check "both live: registration hands out gw-test" t_wait 20 handed "$CTRL"
kill -TERM "$GWPID"
stopped() { ! kill -0 "$GWPID" 2>/dev/null; }
t_check "gw-test stops on SIGTERM" t_wait 20 stopped
t_check "at once: the next registration hands out gw-z" handed "$B_CTRL"
is "gw-test is marked stopped" "$(t_psql "SELECT stopped IS NOT NULL FROM gateways WHERE name = 'gw-test'")" t
gw_start --rsa-reg-port "$RREG" --rsa-ctrl-port "$RCTRL" || t_notok "gw-test starts again"
echo "[127.0.0.1]:$B_REG ssh-ed25519 $ED" >>"$T/known_hosts"   # gw_start rewrote it
t_check "gw-test back on the list" t_wait 20 handed "$CTRL"
kill -KILL "$GWPID"; wait "$GWPID" 2>/dev/null
t0=$(date +%s.%N)
t_check "killed: gw-test leaves the list when its heartbeat ages" t_wait 30 handed "$B_CTRL"
t_log "handed out again $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s after SIGKILL (heartbeat 2 s, window 6 s)"
t_done
