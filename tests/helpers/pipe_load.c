/* pipe_load - many simulated probes uploading results through the gateway's
 * result sink, for tests/bench/pipeline.sh.
 *
 *   pipe_load DB PORT PROBES RESULTS TEMPLATES [THREADS]
 *
 * Registers PROBES probes with a session each (one INSERT), connects them
 * to the gateway's controller PORT as gw_load does (key auth, exec KEEP,
 * tcpip-forward), prints "connected N MS", then uploads RESULTS results in
 * total: every probe posts P_TO_C_REPORT bodies of up to 1000 RESULT lines
 * (below the 1,000,000-byte post limit) over a direct-tcpip channel to
 * 127.0.0.1:8080, one post at a time per probe, THREADS threads (default 4)
 * sharing the probes.  Result lines come from TEMPLATES, one per line as
 * "MSM_ID<TAB>REST": REST is a probe's result JSON after its "time" value,
 * and each line becomes {"id":"MSM_ID","time":T REST with T counting down
 * from now - 60 per probe, so no two lines of a probe are equal.  At the
 * end prints "uploaded RESULTS POSTS MS FAILED START" (MS from the first
 * post to the last acknowledgement, START the wall clock of the first post
 * in unix ms) and exits 0 when nothing failed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <libssh/libssh.h>

#include "common/buf.h"
#include "common/vtime.h"
#include "proto/upload.h"

#define LINES_PER_POST 1000
#define BODY_BUDGET    (VT_UPLOAD_MAX_BODY - 4096)
#define REPLY_MAX      65536

struct tmpl {
	long long msm;
	char     *rest;
	size_t    len;
};

struct probe {
	long        id;
	char        sid[64];
	ssh_key     key;
	ssh_session ssh;
	ssh_channel keep;
	long        todo;          /* results still to upload */
	long long   ts;            /* next result time */
	int         next;          /* next template */
};

struct load {
	struct probe *pr;
	int           n, nthreads, port;
	struct tmpl  *t;
	int           nt;
	long          posts, results, failed;
	pthread_mutex_t lock;
};

struct worker {
	struct load *l;
	int          idx;
};

static int link_up(struct probe *p, int port)
{
	int no = 0, one = 1, bound = 0;

	if (!(p->ssh = ssh_new()))
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
	    !(p->keep = ssh_channel_new(p->ssh)) ||
	    ssh_channel_open_session(p->keep) != SSH_OK ||
	    ssh_channel_request_exec(p->keep, "KEEP") != SSH_OK ||
	    ssh_channel_listen_forward(p->ssh, "localhost", 2023, &bound) != SSH_OK)
		return -1;
	return 0;
}

static void link_down(struct probe *p)
{
	if (p->keep)
		ssh_channel_free(p->keep);
	p->keep = NULL;
	if (p->ssh) {
		ssh_disconnect(p->ssh);
		ssh_free(p->ssh);
	}
	p->ssh = NULL;
}

/* The next post of probe p into req; *nlines results in it. */
static int make_post(struct load *l, struct probe *p, struct vt_buf *body,
		     struct vt_buf *req, int *nlines)
{
	int n = 0;

	vt_buf_reset(body);
	vt_buf_reset(req);
	if (vt_buf_adds(body, "P_TO_C_REPORT\n") < 0)
		return -1;
	while (n < LINES_PER_POST && p->todo > 0) {
		struct tmpl *t = &l->t[p->next];

		if (body->len + t->len + 64 > BODY_BUDGET)
			break;
		if (vt_buf_addf(body, "RESULT {\"id\":\"%lld\",\"time\":%lld",
				t->msm, p->ts) < 0 ||
		    vt_buf_add(body, t->rest, t->len) < 0 ||
		    vt_buf_addc(body, '\n') < 0)
			return -1;
		p->next = (p->next + 1) % l->nt;
		p->ts--;
		p->todo--;
		n++;
	}
	if (vt_buf_addf(body, "SESSION_ID %s\n", p->sid) < 0 ||
	    vt_upload_req_format(req, p->id, p->sid, NULL, body->data,
				 body->len) < 0)
		return -1;
	*nlines = n;
	return 0;
}

/* One post over a direct-tcpip channel; 0 when acknowledged. */
static int post(struct probe *p, const struct vt_buf *req, struct vt_buf *reply)
{
	ssh_channel ch = ssh_channel_new(p->ssh);
	const char *body = NULL;
	size_t blen = 0;
	long long date;
	int status = 0, rc = -1, prc = VT_EAGAIN;
	char buf[4096];

	vt_buf_reset(reply);
	if (!ch || ssh_channel_open_forward(ch, "127.0.0.1", 8080, "127.0.0.1",
					    0) != SSH_OK) {
		fprintf(stderr, "pipe_load: probe %ld: no channel: %s\n", p->id,
			ssh_get_error(p->ssh));
		goto out;
	}
	if (ssh_channel_write(ch, req->data, (uint32_t)req->len) != (int)req->len) {
		fprintf(stderr, "pipe_load: probe %ld: write: %s\n", p->id,
			ssh_get_error(p->ssh));
		goto out;
	}
	while (prc == VT_EAGAIN) {
		int n = ssh_channel_read_timeout(ch, buf, sizeof buf, 0, 60000);

		if (n < 0 || (n == 0 && !ssh_channel_is_eof(ch))) {
			fprintf(stderr, "pipe_load: probe %ld: no reply: %s\n",
				p->id, n < 0 ? ssh_get_error(p->ssh) : "timeout");
			goto out;
		}
		if (n == 0) {
			prc = vt_upload_reply_parse(reply->data ? reply->data : "",
						    reply->len, 1, &status, &body,
						    &blen, &date);
			break;
		}
		if (vt_buf_add(reply, buf, (size_t)n) < 0)
			goto out;
		prc = vt_upload_reply_parse(reply->data, reply->len, 0, &status,
					    &body, &blen, &date);
	}
	if (prc == VT_OK && vt_upload_acked(status, body, blen))
		rc = 0;
	else
		fprintf(stderr, "pipe_load: probe %ld: post answered %d\n", p->id,
			status);
out:
	if (ch) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	return rc;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct load *l = w->l;
	struct vt_buf body, req, reply;
	long posts = 0, results = 0, failed = 0;
	int busy = 1;

	vt_buf_init(&body, VT_UPLOAD_MAX_BODY);
	vt_buf_init(&req, VT_UPLOAD_MAX_BODY + VT_UPLOAD_MAX_HEAD);
	vt_buf_init(&reply, REPLY_MAX);
	while (busy) {
		busy = 0;
		for (int i = w->idx; i < l->n; i += l->nthreads) {
			struct probe *p = &l->pr[i];
			int nl = 0;

			if (!p->ssh || p->todo <= 0)
				continue;
			busy = 1;
			if (make_post(l, p, &body, &req, &nl) < 0 || post(p, &req, &reply) < 0) {
				failed += nl + p->todo;
				p->todo = 0;
				continue;
			}
			posts++;
			results += nl;
		}
	}
	pthread_mutex_lock(&l->lock);
	l->posts += posts;
	l->results += results;
	l->failed += failed;
	pthread_mutex_unlock(&l->lock);
	vt_buf_free(&body);
	vt_buf_free(&req);
	vt_buf_free(&reply);
	return NULL;
}

static int load_templates(const char *path, struct load *l)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *tab = strchr(line, '\t');
		struct tmpl *t;

		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!tab || !(t = realloc(l->t, (size_t)(l->nt + 1) * sizeof *t)))
			continue;
		l->t = t;
		t[l->nt].msm = atoll(line);
		t[l->nt].rest = strdup(tab + 1);
		t[l->nt].len = strlen(tab + 1);
		if (t[l->nt].rest)
			l->nt++;
	}
	free(line);
	fclose(f);
	return l->nt ? 0 : -1;
}

static int register_probes(const char *conninfo, struct load *l)
{
	struct vt_buf keys;
	PGconn *db = PQconnectdb(conninfo);
	PGresult *r = NULL;
	const char *p[1];
	int rc = -1;

	vt_buf_init(&keys, 0);
	if (PQstatus(db) != CONNECTION_OK || vt_buf_addc(&keys, '{') < 0)
		goto out;
	for (int i = 0; i < l->n; i++) {
		char *b64 = NULL;

		if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &l->pr[i].key) != SSH_OK ||
		    ssh_pki_export_pubkey_base64(l->pr[i].key, &b64) != SSH_OK ||
		    vt_buf_addf(&keys, "%s\"%s\"", i ? "," : "", b64) < 0)
			goto out;
		ssh_string_free_char(b64);
	}
	if (vt_buf_addc(&keys, '}') < 0)
		goto out;
	p[0] = keys.data;
	r = PQexecParams(db, "WITH k AS (INSERT INTO probes (key_type, pubkey)"
			 " SELECT 'ssh-ed25519', k FROM unnest($1::text[])"
			 " WITH ORDINALITY AS u(k, o) ORDER BY o RETURNING id),"
			 " s AS (INSERT INTO probe_sessions (probe_id, session_id,"
			 " remote_port) SELECT id, md5(id::text), 2023 FROM k"
			 " RETURNING probe_id, session_id)"
			 " SELECT probe_id, session_id FROM s ORDER BY probe_id",
			 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != l->n) {
		fprintf(stderr, "pipe_load: %s", PQerrorMessage(db));
		goto out;
	}
	/* Keys and ids are matched through the pubkey order of the INSERT. */
	PQclear(r);
	r = PQexecParams(db, "SELECT s.probe_id, s.session_id FROM unnest($1::text[])"
			 " WITH ORDINALITY AS u(k, o) JOIN probes p ON p.pubkey = u.k"
			 " JOIN probe_sessions s ON s.probe_id = p.id ORDER BY u.o",
			 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != l->n) {
		fprintf(stderr, "pipe_load: %s", PQerrorMessage(db));
		goto out;
	}
	for (int i = 0; i < l->n; i++) {
		l->pr[i].id = atol(PQgetvalue(r, i, 0));
		snprintf(l->pr[i].sid, sizeof l->pr[i].sid, "%s", PQgetvalue(r, i, 1));
	}
	rc = 0;
out:
	PQclear(r);
	PQfinish(db);
	vt_buf_free(&keys);
	return rc;
}

int main(int argc, char **argv)
{
	struct load l = { 0 };
	pthread_t *th;
	struct worker *w;
	long total;
	long long now = (long long)time(NULL);
	int64_t t0, start;
	int ok = 0;

	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: pipe_load DB PORT PROBES RESULTS TEMPLATES [THREADS]\n");
		return 2;
	}
	l.port = atoi(argv[2]);
	l.n = atoi(argv[3]);
	total = atol(argv[4]);
	l.nthreads = argc == 7 ? atoi(argv[6]) : 4;
	if (l.n <= 0 || total <= 0 || l.nthreads <= 0 ||
	    !(l.pr = calloc((size_t)l.n, sizeof *l.pr)))
		return 2;
	if (l.nthreads > l.n)
		l.nthreads = l.n;
	if (load_templates(argv[5], &l) < 0) {
		fprintf(stderr, "pipe_load: no templates in %s\n", argv[5]);
		return 2;
	}
	pthread_mutex_init(&l.lock, NULL);
	ssh_init();
	if (register_probes(argv[1], &l) < 0)
		return 1;
	t0 = vt_mono_ms();
	for (int i = 0; i < l.n; i++) {
		l.pr[i].todo = total / l.n + (i < total % l.n);
		l.pr[i].ts = now - 60;
		l.pr[i].next = i % l.nt;
		if (link_up(&l.pr[i], l.port) == 0)
			ok++;
		else
			link_down(&l.pr[i]);
	}
	printf("connected %d %lld\n", ok, (long long)(vt_mono_ms() - t0));
	fflush(stdout);
	th = calloc((size_t)l.nthreads, sizeof *th);
	w = calloc((size_t)l.nthreads, sizeof *w);
	if (!th || !w)
		return 1;
	t0 = vt_mono_ms();
	start = vt_now_ms();
	for (int i = 0; i < l.nthreads; i++) {
		w[i] = (struct worker){ &l, i };
		if (pthread_create(&th[i], NULL, run, &w[i]) != 0)
			return 1;
	}
	for (int i = 0; i < l.nthreads; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < l.n; i++)
		if (!l.pr[i].ssh)
			l.failed += l.pr[i].todo;
	printf("uploaded %ld %ld %lld %ld %lld\n", l.results, l.posts,
	       (long long)(vt_mono_ms() - t0), l.failed, (long long)start);
	fflush(stdout);
	for (int i = 0; i < l.n; i++) {
		link_down(&l.pr[i]);
		ssh_key_free(l.pr[i].key);
	}
	for (int i = 0; i < l.nt; i++)
		free(l.t[i].rest);
	free(l.t);
	free(l.pr);
	free(th);
	free(w);
	ssh_finalize();
	return l.failed || l.results != total ? 1 : 0;
}
