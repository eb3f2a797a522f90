#!/bin/bash
# gateway_hostkey: host keys made on first start are created 0600 from the
# start (whatever the umask), never through an existing path (a symbolic
# link left in the folder), and every step is checked.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/helpers/gw_lib.sh"
t_setup
gw_setup

# A dangling symbolic link where the private key goes: refused, nothing
# written through it.
mkdir -m 700 "$T/keys" "$T/elsewhere"
ln -s "$T/elsewhere/stolen" "$T/keys/ssh_host_ed25519_key"
"$BIN/vantage-gateway" --db "$VANTAGE_DB" --listen 127.0.0.1 --reg-port "$REG" \
	--ctrl-port "$CTRL" --host-keys "$T/keys" --name gw-test >"$T/link.log" 2>&1 &
LPID=$!
t_bg $LPID
t_check "symlink: the gateway refuses to start" t_wait 30 sh -c "! kill -0 $LPID"
wait $LPID
t_check "symlink: exit status 1" [ $? = 1 ]
t_check "symlink: the error names the key" grep -q "ssh_host_ed25519_key" "$T/link.log"
t_check "symlink: no key written through the link" [ ! -e "$T/elsewhere/stolen" ]
rm -f "$T/keys/ssh_host_ed25519_key"

# Under umask 000: private keys 0600, public keys 0644, and they work.
(umask 000; gw_start) || { t_notok "gateway starts"; cat "$T/gw.log"; t_done; exit 1; }
GWPID=$(ss -Htlnp "sport = :$CTRL" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -1)
t_bg "$GWPID"
{
	echo "[127.0.0.1]:$CTRL $(cat "$T/keys/ssh_host_rsa_key.pub")"
} >"$T/known_hosts"
for k in ed25519 rsa; do
	t_check "umask 000: $k private key 0600" [ "$(stat -c %a "$T/keys/ssh_host_${k}_key")" = 600 ]
	t_check "umask 000: $k public key 0644" [ "$(stat -c %a "$T/keys/ssh_host_${k}_key.pub")" = 644 ]
	t_check "$k: OpenSSH reads the private key" ssh-keygen -y -f "$T/keys/ssh_host_${k}_key" >/dev/null
done
gw_init_ctrl
t_check "the keys serve: controller INIT" [ -n "$SID" ]
t_done
