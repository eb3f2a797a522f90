/* sshc.c - the probe's SSH client pieces (see sshc.h). */
#include "probe/link/sshc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/vtime.h"

int vt_sshc_key_load_or_make(const char *path, ssh_key *out, int *created)
{
	char pub[PATH_MAX];
	ssh_key key = NULL;
	int rc;

	*created = 0;
	if (access(path, F_OK) == 0) {
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK)
			return VT_EPARSE;
		*out = key;
		return VT_OK;
	}
	if (errno != ENOENT)
		return VT_EIO;
	if ((size_t)snprintf(pub, sizeof pub, "%s.pub", path) >= sizeof pub)
		return VT_ETOOBIG;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return VT_ESSH;
	{
		mode_t old = umask(077);

		rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
		umask(old);
	}
	if (rc != SSH_OK || chmod(path, 0600) < 0) {
		rc = VT_EIO;
		goto fail;
	}
	if (ssh_pki_export_pubkey_file(key, pub) != SSH_OK) {
		unlink(path);
		rc = VT_EIO;
		goto fail;
	}
	*created = 1;
	*out = key;
	return VT_OK;
fail:
	ssh_key_free(key);
	return rc;
}

int vt_sshc_read_pubkey(const char *path, char *type, size_t tlen, char *b64,
			size_t blen)
{
	char line[16384], *tok[3], *save = NULL;
	int n = 0, i = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return errno == ENOENT ? VT_ENOTFOUND : VT_EIO;
	if (!fgets(line, sizeof line, f)) {
		fclose(f);
		return VT_EPARSE;
	}
	fclose(f);
	for (char *t = strtok_r(line, " \t\r\n", &save); t && n < 3;
	     t = strtok_r(NULL, " \t\r\n", &save))
		tok[n++] = t;
	/* "TYPE B64 [comment]" or known_hosts "HOST TYPE B64" */
	if (n >= 2 && ssh_key_type_from_name(tok[0]) != SSH_KEYTYPE_UNKNOWN)
		i = 0;
	else if (n >= 3 && ssh_key_type_from_name(tok[1]) != SSH_KEYTYPE_UNKNOWN)
		i = 1;
	else
		return VT_EPARSE;
	if (strlen(tok[i]) >= tlen || strlen(tok[i + 1]) >= blen)
		return VT_ETOOBIG;
	strcpy(type, tok[i]);
	strcpy(b64, tok[i + 1]);
	return VT_OK;
}

/* Host key algorithms that make the server present a key of this type. */
static const char *hostkey_algos(const char *type)
{
	if (strcmp(type, "ssh-rsa") == 0)
		return "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
	return type;
}

int vt_sshc_connect(const struct vt_sshc_target *t, ssh_key key, long timeout_s,
		    ssh_session *out, char *err, size_t errlen)
{
	ssh_session s = NULL;
	ssh_key srv = NULL, pinned = NULL;
	enum ssh_keytypes_e ktype;
	unsigned int port = (unsigned int)t->port;
	bool no = false;
	int one = 1, rc;

	ktype = ssh_key_type_from_name(t->key_type);
	if (ktype == SSH_KEYTYPE_UNKNOWN ||
	    ssh_pki_import_pubkey_base64(t->key_b64, ktype, &pinned) != SSH_OK) {
		snprintf(err, errlen, "pinned host key for %s is not valid", t->host);
		return VT_EINVAL;
	}
	s = ssh_new();
	if (!s) {
		rc = VT_ENOMEM;
		goto out;
	}
	if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, t->host) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_USER, VT_SSHC_USER) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout_s) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_NODELAY, &one) < 0) {
		snprintf(err, errlen, "ssh options: %s", ssh_get_error(s));
		rc = VT_ESSH;
		goto out;
	}
	/* ask for the pinned key type only; "ssh-rsa" may be disabled */
	if (ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, hostkey_algos(t->key_type)) < 0 &&
	    ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, "rsa-sha2-512,rsa-sha2-256") < 0) {
		snprintf(err, errlen, "host key type %s: %s", t->key_type,
			 ssh_get_error(s));
		rc = VT_ESSH;
		goto out;
	}
	if (ssh_connect(s) != SSH_OK) {
		snprintf(err, errlen, "connect %s:%d: %s", t->host, t->port,
			 ssh_get_error(s));
		rc = VT_ECLOSED;
		goto out;
	}
	if (ssh_get_server_publickey(s, &srv) != SSH_OK ||
	    ssh_key_cmp(srv, pinned, SSH_KEY_CMP_PUBLIC) != 0) {
		snprintf(err, errlen, "%s:%d: host key does not match the pinned key",
			 t->host, t->port);
		rc = VT_EPROTO;
		goto out;
	}
	rc = ssh_userauth_publickey(s, NULL, key);
	if (rc != SSH_AUTH_SUCCESS) {
		snprintf(err, errlen, "%s:%d: public key refused: %s", t->host,
			 t->port, ssh_get_error(s));
		rc = rc == SSH_AUTH_ERROR ? VT_ECLOSED : VT_EAUTH;
		goto out;
	}
	*out = s;
	s = NULL;
	rc = VT_OK;
out:
	ssh_key_free(srv);
	ssh_key_free(pinned);
	vt_sshc_close(s);
	return rc;
}

void vt_sshc_close(ssh_session s)
{
	if (!s)
		return;
	if (ssh_is_connected(s))
		ssh_disconnect(s);
	ssh_free(s);
}

int vt_sshc_read_until(ssh_channel ch, struct vt_buf *out, int timeout_ms,
		       int (*done)(void *arg, const struct vt_buf *b), void *arg,
		       int *eof)
{
	int64_t deadline = vt_mono_ms() + timeout_ms;
	char chunk[4096];

	*eof = 0;
	for (;;) {
		int64_t left = deadline - vt_mono_ms();
		int n, rc;

		if (done && done(arg, out))
			return VT_OK;
		if (left <= 0)
			return VT_ETIMEOUT;
		n = ssh_channel_read_timeout(ch, chunk, sizeof chunk, 0,
					     left > 1000 ? 1000 : (int)left);
		if (n == SSH_ERROR)
			return VT_ESSH;
		if (n > 0) {
			rc = vt_buf_add(out, chunk, (size_t)n);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)) {
			*eof = 1;
			return VT_OK;
		}
		if (!ssh_is_connected(ssh_channel_get_session(ch)))
			return VT_ECLOSED;
	}
}

int vt_sshc_exec(ssh_session s, const char *cmd, const void *in, size_t inlen,
		 struct vt_buf *out, int *exit_status, int timeout_ms)
{
	ssh_channel ch = ssh_channel_new(s);
	int rc, eof;

	*exit_status = -1;
	if (!ch)
		return VT_ENOMEM;
	if (ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, cmd) != SSH_OK) {
		rc = ssh_is_connected(s) ? VT_EPROTO : VT_ECLOSED;
		goto out;
	}
	if (inlen > 0 && ssh_channel_write(ch, in, (uint32_t)inlen) != (int)inlen) {
		rc = VT_ESSH;
		goto out;
	}
	if (ssh_channel_send_eof(ch) != SSH_OK) {
		rc = VT_ESSH;
		goto out;
	}
	rc = vt_sshc_read_until(ch, out, timeout_ms, NULL, NULL, &eof);
	if (rc < 0)
		goto out;
	*exit_status = ssh_channel_get_exit_status(ch);
	rc = VT_OK;
out:
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	return rc;
}
