/* pipe_load - a fleet of simulated probes uploading results through the
 * gateway's result sink, for tests/bench/pipeline.sh.
 *
 *   pipe_load DB PORT PROBES RESULTS TEMPLATES [THREADS [MIN MAX]]
 *
 * Registers PROBES probes with a session each (one INSERT), connects them
 * to the gateway's controller PORT as gw_load does (key auth, exec KEEP,
 * tcpip-forward), prints "connected N MS", then uploads RESULTS results in
 * total, drawn from one pool by whichever probe posts next: every probe
 * keeps posting until the pool is empty, so the fleet stays busy to the
 * end (a share fixed per probe left the last seconds to the few probes
 * whose posts happened to be small).  Like a stock probe's httppost run,
 * every post carries what
 * accumulated since the probe's last one: P_TO_C_REPORT bodies of MIN..MAX
 * RESULT lines (default 20..300, drawn per post, capped below the post
 * limit) over a direct-tcpip channel to 127.0.0.1:8080.  The probes post
 * independently: THREADS threads (default 8) each own a share of them, and
 * a probe whose answer has come posts again at once, whatever its
 * neighbours wait for, so up to PROBES posts are in flight at once and the
 * gateway sees them arrive as from a real fleet.  (The threads once sent a
 * post for each of their probes and then read every answer before the
 * next round: each round waited for its slowest post, and the gateway sat
 * idle between rounds.)  Result lines come from
 * TEMPLATES, one per line as "MSM_ID<TAB>REST": REST is a probe's result
 * JSON after its "time" value, and each line becomes
 * {"id":"MSM_ID","time":T REST with T counting down from now - 60 per
 * probe, so no two lines of a probe are equal.  Prints "shape PROBES
 * THREADS MIN MAX AVG_LINES MAX_IN_FLIGHT BUSY" (BUSY: posts answered
 * 503 and posted again, as a probe keeps its results when the gateway is
 * busy) and, at the end, "uploaded
 * RESULTS POSTS MS FAILED START" (MS from the first post to the last
 * acknowledgement, START the wall clock of the first post in unix ms),
 * "times SEND REPLY" (ms summed over the threads sending posts and reading
 * their replies) and "cpu MS" (its own CPU time, all threads) and exits 0
 * when nothing failed. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <libpq-fe.h>
#include <libssh/libssh.h>

#include "common/buf.h"
#include "common/vtime.h"
#include "proto/upload.h"

#define BODY_BUDGET    (VT_UPLOAD_MAX_BODY - 4096)
#define REPLY_MAX      65536
#define REPLY_WAIT_MS  60000     /* a post unanswered this long fails */

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
	int         stopped;       /* a post failed: the probe posts no more */
	long long   ts;            /* next result time */
	int         next;          /* next template */
	unsigned    seed;          /* for the lines of its next post */
	ssh_channel ch;            /* the post in flight */
	int         nl;            /* its result lines */
	int         retry;         /* answered 503: post the same again */
	int64_t     sent_ms;       /* when the post in flight was sent */
	struct vt_buf req, reply;
};

struct load {
	struct probe *pr;
	int           n, nthreads, port, min, max;
	struct tmpl  *t;
	int           nt;
	long          posts, results, failed, connected, busy503;
	long          pool;        /* results no post has taken yet */
	int           in_flight, max_in_flight;
	int64_t       send_ms, reply_ms;   /* summed over the threads */
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

/* Takes up to want results from the fleet's pool (or puts back -want). */
static long pool_take(struct load *l, long want)
{
	long n;

	pthread_mutex_lock(&l->lock);
	n = want < l->pool ? want : l->pool;
	l->pool -= n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* The next post of probe p into req; *nlines results in it (0: the pool
 * is empty, nothing to post). */
static int make_post(struct load *l, struct probe *p, struct vt_buf *body,
		     struct vt_buf *req, int *nlines)
{
	int n = 0, want = l->min + (int)(rand_r(&p->seed) %
					  (unsigned)(l->max - l->min + 1));
	int rc = 0;
	long taken;

	*nlines = 0;
	if (!(taken = pool_take(l, want)))
		return 0;
	vt_buf_reset(body);
	vt_buf_reset(req);
	if (vt_buf_adds(body, "P_TO_C_REPORT\n") < 0)
		rc = -1;
	while (rc == 0 && n < taken) {
		struct tmpl *t = &l->t[p->next];

		if (body->len + t->len + 64 > BODY_BUDGET)
			break;
		if (vt_buf_addf(body, "RESULT {\"id\":\"%lld\",\"time\":%lld",
				t->msm, p->ts) < 0 ||
		    vt_buf_add(body, t->rest, t->len) < 0 ||
		    vt_buf_addc(body, '\n') < 0) {
			rc = -1;
			break;
		}
		p->next = (p->next + 1) % l->nt;
		p->ts--;
		n++;
	}
	if (rc == 0 && (vt_buf_addf(body, "SESSION_ID %s\n", p->sid) < 0 ||
			vt_upload_req_format(req, p->id, p->sid, NULL, body->data,
					     body->len) < 0))
		rc = -1;
	/* what the body's budget left out goes back for another post (all
	 * of it when the post could not be made) */
	pool_take(l, -(taken - (rc == 0 ? n : 0)));
	if (rc == 0)
		*nlines = n;
	return rc;
}

/* Opens a direct-tcpip channel and sends p's post; 0 when sent. */
static int post_send(struct probe *p)
{
	vt_buf_reset(&p->reply);
	if (!(p->ch = ssh_channel_new(p->ssh)) ||
	    ssh_channel_open_forward(p->ch, "127.0.0.1", 8080, "127.0.0.1",
				     0) != SSH_OK) {
		fprintf(stderr, "pipe_load: probe %ld: no channel: %s\n", p->id,
			ssh_get_error(p->ssh));
		return -1;
	}
	if (ssh_channel_write(p->ch, p->req.data, (uint32_t)p->req.len) !=
	    (int)p->req.len) {
		fprintf(stderr, "pipe_load: probe %ld: write: %s\n", p->id,
			ssh_get_error(p->ssh));
		return -1;
	}
	return 0;
}

static void post_close(struct probe *p)
{
	if (p->ch) {
		ssh_channel_close(p->ch);
		ssh_channel_free(p->ch);
	}
	p->ch = NULL;
}

/* Reads what has come of the answer to p's post, without waiting: 2
 * while it is incomplete, else the channel is closed and the answer is 0
 * when acknowledged, 1 when answered 503 (the gateway is busy: a probe
 * keeps its results and posts them again later), -1 when it failed. */
static int post_answer(struct probe *p)
{
	const char *body = NULL;
	size_t blen = 0;
	long long date;
	int status = 0, rc = -1, prc = VT_EAGAIN;
	char buf[4096];

	while (p->ch && prc == VT_EAGAIN) {
		int n = ssh_channel_read_nonblocking(p->ch, buf, sizeof buf, 0);
		int eof = n == SSH_EOF || (n == 0 && ssh_channel_is_eof(p->ch));

		if (n == 0 && !eof)
			return 2;
		if (n < 0 && n != SSH_EOF) {
			fprintf(stderr, "pipe_load: probe %ld: no reply: %s\n",
				p->id, ssh_get_error(p->ssh));
			goto out;
		}
		if (eof) {
			prc = vt_upload_reply_parse(p->reply.data ? p->reply.data : "",
						    p->reply.len, 1, &status, &body,
						    &blen, &date);
			break;
		}
		if (vt_buf_add(&p->reply, buf, (size_t)n) < 0)
			goto out;
		prc = vt_upload_reply_parse(p->reply.data, p->reply.len, 0, &status,
					    &body, &blen, &date);
	}
	if (prc == VT_OK && vt_upload_acked(status, body, blen))
		rc = 0;
	else if (prc == VT_OK && status == 503)
		rc = 1;
	else
		fprintf(stderr, "pipe_load: probe %ld: post answered %d\n", p->id,
			status);
out:
	post_close(p);
	return rc;
}

static void in_flight(struct load *l, int d)
{
	pthread_mutex_lock(&l->lock);
	l->in_flight += d;
	if (l->in_flight > l->max_in_flight)
		l->max_in_flight = l->in_flight;
	pthread_mutex_unlock(&l->lock);
}

/* Connects the thread's probes. */
static void *connect_run(void *arg)
{
	struct worker *w = arg;
	struct load *l = w->l;
	long ok = 0;

	for (int i = w->idx; i < l->n; i += l->nthreads) {
		/* The gateway denies a key it has not loaded yet (the probes
		 * were registered a moment ago) and looks it up meanwhile: a
		 * probe connects again after a pause, as a stock probe does. */
		for (int tries = 0; tries < 50; tries++) {
			if (link_up(&l->pr[i], l->port) == 0) {
				ok++;
				break;
			}
			link_down(&l->pr[i]);
			nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		}
	}
	pthread_mutex_lock(&l->lock);
	l->connected += ok;
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* The thread's probes post on their own: each one whose answer came
 * posts again at once (the same post after a 503), while the others'
 * answers are still on their way; the thread waits in poll() for any of
 * its sessions when no answer has come. */
static void *run(void *arg)
{
	struct worker *w = arg;
	struct load *l = w->l;
	struct vt_buf body;
	struct pollfd *pf;
	struct probe **pp;
	long posts = 0, results = 0, failed = 0, busy503 = 0;
	int64_t send_ms = 0, reply_ms = 0, t;
	int mine = (l->n - w->idx + l->nthreads - 1) / l->nthreads;

	pf = calloc((size_t)mine, sizeof *pf);
	pp = calloc((size_t)mine, sizeof *pp);
	vt_buf_init(&body, VT_UPLOAD_MAX_BODY);
	for (;;) {
		int waiting = 0, answered = 0;

		t = vt_mono_ms();
		for (int i = w->idx; pf && pp && i < l->n; i += l->nthreads) {
			struct probe *p = &l->pr[i];

			if (!p->ssh || p->stopped)
				continue;
			if (!p->ch && !p->retry) {
				if (make_post(l, p, &body, &p->req, &p->nl) < 0) {
					p->stopped = 1;
					continue;
				}
				if (!p->nl)
					continue;   /* the pool is empty */
			}
			if (!p->ch) {
				p->retry = 0;
				if (post_send(p) < 0) {
					failed += p->nl;
					p->stopped = 1;
					post_close(p);
					continue;
				}
				p->sent_ms = vt_mono_ms();
				in_flight(l, 1);
			}
			pp[waiting++] = p;
		}
		send_ms += vt_mono_ms() - t;
		if (!waiting)
			break;
		t = vt_mono_ms();
		for (int k = 0; k < waiting; k++) {
			struct probe *p = pp[k];
			int r = post_answer(p);

			if (r == 2 && vt_mono_ms() - p->sent_ms > REPLY_WAIT_MS) {
				fprintf(stderr, "pipe_load: probe %ld: no reply:"
					" timeout\n", p->id);
				post_close(p);
				r = -1;
			}
			if (r == 2)
				continue;
			answered++;
			in_flight(l, -1);
			if (r < 0) {
				failed += p->nl;
				p->stopped = 1;
			} else if (r == 1) {
				p->retry = 1;
				busy503++;
			} else {
				posts++;
				results += p->nl;
			}
		}
		/* nothing yet: wait for any of the sessions (bounded, in case
		 * libssh holds read data that no longer wakes poll) */
		if (!answered) {
			for (int k = 0; k < waiting; k++)
				pf[k] = (struct pollfd){ .fd = ssh_get_fd(pp[k]->ssh),
							 .events = POLLIN };
			poll(pf, (nfds_t)waiting, 100);
		}
		reply_ms += vt_mono_ms() - t;
	}
	pthread_mutex_lock(&l->lock);
	l->send_ms += send_ms;
	l->reply_ms += reply_ms;
	l->posts += posts;
	l->results += results;
	l->failed += failed + (pf && pp ? 0 : 1);
	l->busy503 += busy503;
	pthread_mutex_unlock(&l->lock);
	vt_buf_free(&body);
	free(pf);
	free(pp);
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

static int threads(struct load *l, void *(*fn)(void *))
{
	pthread_t *th = calloc((size_t)l->nthreads, sizeof *th);
	struct worker *w = calloc((size_t)l->nthreads, sizeof *w);
	int rc = -1, started = 0;

	if (!th || !w)
		goto out;
	for (; started < l->nthreads; started++) {
		w[started] = (struct worker){ l, started };
		if (pthread_create(&th[started], NULL, fn, &w[started]) != 0)
			goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(w);
	return rc;
}

int main(int argc, char **argv)
{
	struct load l = { 0 };
	long total;
	long long now = (long long)time(NULL);
	int64_t t0, start;
	struct rusage ru;

	if (argc != 6 && argc != 7 && argc != 9) {
		fprintf(stderr, "usage: pipe_load DB PORT PROBES RESULTS TEMPLATES"
			" [THREADS [MIN MAX]]\n");
		return 2;
	}
	l.port = atoi(argv[2]);
	l.n = atoi(argv[3]);
	total = atol(argv[4]);
	l.pool = total;
	l.nthreads = argc >= 7 ? atoi(argv[6]) : 8;
	l.min = argc == 9 ? atoi(argv[7]) : 20;
	l.max = argc == 9 ? atoi(argv[8]) : 300;
	if (l.n <= 0 || total <= 0 || l.nthreads <= 0 || l.min < 1 ||
	    l.max < l.min || !(l.pr = calloc((size_t)l.n, sizeof *l.pr)))
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
	for (int i = 0; i < l.n; i++) {
		l.pr[i].ts = now - 60;
		l.pr[i].next = i % l.nt;
		l.pr[i].seed = (unsigned)i * 2654435761u + 1;
		vt_buf_init(&l.pr[i].req, VT_UPLOAD_MAX_BODY + VT_UPLOAD_MAX_HEAD);
		vt_buf_init(&l.pr[i].reply, REPLY_MAX);
	}
	t0 = vt_mono_ms();
	if (threads(&l, connect_run) < 0)
		return 1;
	printf("connected %ld %lld\n", l.connected, (long long)(vt_mono_ms() - t0));
	fflush(stdout);
	t0 = vt_mono_ms();
	start = vt_now_ms();
	if (threads(&l, run) < 0)
		return 1;
	l.failed += l.pool;   /* left when every probe stopped or failed */
	printf("shape %d %d %d %d %ld %d %ld\n", l.n, l.nthreads, l.min, l.max,
	       l.posts ? l.results / l.posts : 0, l.max_in_flight, l.busy503);
	printf("uploaded %ld %ld %lld %ld %lld\n", l.results, l.posts,
	       (long long)(vt_mono_ms() - t0), l.failed, (long long)start);
	printf("times %lld %lld\n", (long long)l.send_ms, (long long)l.reply_ms);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("cpu %lld\n", (long long)(ru.ru_utime.tv_sec +
		       ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_usec) / 1000);
	fflush(stdout);
	for (int i = 0; i < l.n; i++) {
		link_down(&l.pr[i]);
		ssh_key_free(l.pr[i].key);
		vt_buf_free(&l.pr[i].req);
		vt_buf_free(&l.pr[i].reply);
	}
	for (int i = 0; i < l.nt; i++)
		free(l.t[i].rest);
	free(l.t);
	free(l.pr);
	ssh_finalize();
	return l.failed || l.results != total ? 1 : 0;
}
