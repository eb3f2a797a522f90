/* gw_load - many simulated probes in one process, for tests/bench/gateway.sh.
 *
 *   gw_load DB PORT COUNT
 *
 * Makes COUNT ed25519 keys, registers them as probes with a session each
 * (one INSERT), then opens COUNT libssh sessions to the gateway's
 * controller PORT: authenticate, exec KEEP, tcpip-forward - a probe's
 * idle link, one after the other.  Prints "connected N MS CPU_MS" (CPU_MS:
 * this process's CPU, i.e. the client side of the same handshakes) and holds the sessions until stdin
 * closes or says "reconnect", then reconnects them all (after the gateway
 * restarted) and prints "reconnected N MS CPU_MS"; at EOF it exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <libssh/libssh.h>

#include "common/buf.h"
#include "common/vtime.h"

struct probe {
	ssh_key     key;
	ssh_session ssh;
	ssh_channel ch;
};

static int link_up(struct probe *p, int port)
{
	int no = 0, one = 1, bound = 0;

	p->ssh = ssh_new();
	if (!p->ssh)
		return -1;
	ssh_options_set(p->ssh, SSH_OPTIONS_HOST, "127.0.0.1");
	ssh_options_set(p->ssh, SSH_OPTIONS_PORT, &port);
	ssh_options_set(p->ssh, SSH_OPTIONS_USER, "atlas");
	ssh_options_set(p->ssh, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
	ssh_options_set(p->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(p->ssh, SSH_OPTIONS_HOSTKEYS, "ssh-ed25519");
	ssh_options_set(p->ssh, SSH_OPTIONS_NODELAY, &one);
	if (ssh_connect(p->ssh) != SSH_OK ||
	    ssh_userauth_publickey(p->ssh, NULL, p->key) != SSH_AUTH_SUCCESS ||
	    !(p->ch = ssh_channel_new(p->ssh)) ||
	    ssh_channel_open_session(p->ch) != SSH_OK ||
	    ssh_channel_request_exec(p->ch, "KEEP") != SSH_OK ||
	    ssh_channel_listen_forward(p->ssh, "localhost", 2023, &bound) != SSH_OK)
		return -1;
	return 0;
}

static void link_down(struct probe *p)
{
	if (p->ch)
		ssh_channel_free(p->ch);
	p->ch = NULL;
	if (p->ssh) {
		ssh_disconnect(p->ssh);
		ssh_free(p->ssh);
	}
	p->ssh = NULL;
}

static int connect_all(struct probe *pr, int n, int port, const char *what)
{
	int64_t t0 = vt_mono_ms();
	clock_t c0 = clock();
	int ok = 0;

	for (int i = 0; i < n; i++) {
		if (link_up(&pr[i], port) == 0)
			ok++;
		else
			link_down(&pr[i]);
	}
	printf("%s %d %lld %lld\n", what, ok, (long long)(vt_mono_ms() - t0),
	       (long long)(clock() - c0) * 1000 / CLOCKS_PER_SEC);
	fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	struct vt_buf keys, sids;
	struct probe *pr;
	PGconn *db;
	PGresult *r;
	char line[64];
	int n, port;

	if (argc != 4) {
		fprintf(stderr, "usage: gw_load DB PORT COUNT\n");
		return 2;
	}
	port = atoi(argv[2]);
	n = atoi(argv[3]);
	if (n <= 0 || !(pr = calloc((size_t)n, sizeof *pr)))
		return 2;
	ssh_init();
	vt_buf_init(&keys, 0);
	vt_buf_init(&sids, 0);
	if (vt_buf_addc(&keys, '{') < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		char *b64 = NULL;

		if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &pr[i].key) != SSH_OK ||
		    ssh_pki_export_pubkey_base64(pr[i].key, &b64) != SSH_OK ||
		    vt_buf_addf(&keys, "%s\"%s\"", i ? "," : "", b64) < 0)
			return 1;
		ssh_string_free_char(b64);
	}
	if (vt_buf_addc(&keys, '}') < 0)
		return 1;
	db = PQconnectdb(argv[1]);
	{
		const char *p[1] = { keys.data };

		r = PQexecParams(db, "WITH k AS (INSERT INTO probes (key_type, pubkey)"
				 " SELECT 'ssh-ed25519', unnest($1::text[]) RETURNING id)"
				 " INSERT INTO probe_sessions (probe_id, session_id,"
				 " remote_port) SELECT id, md5(id::text), 2023 FROM k",
				 1, NULL, p, NULL, NULL, 0);
	}
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "gw_load: %s", PQerrorMessage(db));
		return 1;
	}
	PQclear(r);
	PQfinish(db);
	vt_buf_free(&keys);
	vt_buf_free(&sids);
	connect_all(pr, n, port, "connected");
	while (fgets(line, sizeof line, stdin)) {
		if (strncmp(line, "reconnect", 9))
			continue;
		for (int i = 0; i < n; i++)
			link_down(&pr[i]);
		connect_all(pr, n, port, "reconnected");
	}
	for (int i = 0; i < n; i++) {
		link_down(&pr[i]);
		ssh_key_free(pr[i].key);
	}
	free(pr);
	ssh_finalize();
	return 0;
}
