/* gw_load - many simulated probes in one process, for tests/bench/gateway.sh.
 *
 *   gw_load DB COUNT rsa|ed25519
 *
 * Makes COUNT ed25519 client keys and registers them as probes, each with a
 * kept session id (one INSERT), prints "ready", then obeys commands read
 * from stdin, one a line, each answered by one line of KEY=VALUE figures:
 *
 *   hold PORT K WINDOW     links probes 0..K-1 to the gateway's controller
 *                          PORT, at most WINDOW handshakes in flight, and
 *                          holds them; waits until every probe's crontab
 *                          push was answered.  -> "held k= ok= ms= ..."
 *   storm PORT K JITTER PID
 *                          drops every link (the gateway was restarted),
 *                          then all K probes reconnect at the same time,
 *                          each after a uniform delay in [0, JITTER] ms:
 *                          KEEP straight with the cached session id, as a
 *                          probe does.  Reports when all are back, when
 *                          probe_sessions records all of them, when all
 *                          crontab pushes were answered, and PID's CPU time
 *                          (/proc) at each point.  -> "storm k= ..."
 *   herd PORT K JITTER PID WANT
 *                          as storm, for a gateway whose session limit is
 *                          WANT < K: ends once WANT probes are up (the
 *                          others keep being refused and backing off);
 *                          reports when, the refusals, PID's CPU time and
 *                          its peak RSS.  -> "herd k= want= up= ..."
 *   register K PAR PORT... registers probes 0..K-1 (registration INIT, as
 *                          a probe does) on the registration PORTs (probe
 *                          i on the (i mod n)th), PAR processes at a time;
 *                          each probe's later links go to the controller
 *                          port of its reply (hold PORT is then ignored).
 *                          -> "registered k= ok= ms="
 *   bare PORT K PID        K handshakes at once to a bare libssh server:
 *                          key exchange and public-key auth, then close.
 *                          -> "bare k= ok= ms= srv_cpu= srv_sys= cli_cpu="
 *
 * The host key type (second argument) is the only one offered.  The probes
 * run on non-blocking libssh sessions driven from one epoll loop: every
 * handshake of a burst is in flight at once.  A probe whose connection
 * fails retries after the probe's jittered backoff (uniform in [0, 1 s],
 * doubling).  The command channels the gateway opens (crontab pushes) are
 * accepted and answered by the probe's own dialogue server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <libssh/libssh.h>

#include "common/buf.h"
#include "common/vtime.h"
#include "proto/dialogue.h"
#include "proto/reg.h"

#define STEP_MS        200      /* handshake deadlines are checked this often */
#define HANDSHAKE_MS   30000    /* a handshake longer than this failed */
#define STORM_MAX_MS   600000
#define PUSH_WAIT_MS   120000   /* after all are back, for the pushes */
#define HOLD_TRIES     4

enum pstate { P_IDLE, P_WAIT, P_CONNECT, P_AUTH, P_FWD, P_OPEN, P_EXEC, P_UP,
	      P_DONE, P_FAILED };
enum mode { M_KEEP, M_BARE };

struct probe {
	ssh_key      key;
	char        *b64;              /* public key, until enrolled */
	long         id;
	char         sid[40];
	ssh_session  ssh;
	ssh_channel  keep;
	ssh_channel  cmd;              /* a command channel from the gateway */
	struct vt_dlg_server *dlg;
	struct vt_buf out;             /* dialogue bytes to send */
	enum pstate  st;
	int          fd;
	int          watching;
	int64_t      start_at, deadline;
	unsigned     attempt;
	int          pushed;           /* a push answered OK since the burst began */
	int          port;             /* controller port registration gave; 0: none */
	int          heap_at;          /* index in the waiting heap, -1: not in it */
};

struct load {
	int           ep;
	int           port;
	const char   *hostkeys;
	enum mode     mode;
	struct probe *pr;
	int           n;
	int          *heap;            /* probes in P_WAIT, earliest start_at first */
	int           nheap;
	int           active;          /* handshakes in flight */
	int           up, done, failed, retries, pushed, keep_output;
	int           drops;           /* links lost after KEEP was up */
	int           want;            /* herd: drive ends at this many up */
	unsigned      max_tries;       /* 0: retry until the burst ends */
	PGconn       *db;
};

static int64_t cpu_self_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* utime + stime of PID in ms (its stime alone in *sys_ms when not NULL),
 * -1 when unreadable: the process's own, every thread, no children. */
static long long cpu_pid_split(int pid, long long *sys_ms)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return -1;
	if (sys_ms)
		*sys_ms = (long long)(st * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
	return (long long)((ut + st) * 1000 / (unsigned long long)sysconf(_SC_CLK_TCK));
}

static long long cpu_pid_ms(int pid)
{
	return cpu_pid_split(pid, NULL);
}

/* The waiting probes: a binary min-heap on start_at, so that the loop
 * touches only the probes due, never all of them. */
static void heap_swap(struct load *L, int a, int b)
{
	int t = L->heap[a];

	L->heap[a] = L->heap[b];
	L->heap[b] = t;
	L->pr[L->heap[a]].heap_at = a;
	L->pr[L->heap[b]].heap_at = b;
}

static int64_t heap_key(struct load *L, int i)
{
	return L->pr[L->heap[i]].start_at;
}

static void heap_push(struct load *L, struct probe *p)
{
	int i = L->nheap++;

	L->heap[i] = (int)(p - L->pr);
	p->heap_at = i;
	while (i > 0 && heap_key(L, (i - 1) / 2) > heap_key(L, i)) {
		heap_swap(L, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* The earliest waiting probe, taken out of the heap. */
static struct probe *heap_pop(struct load *L)
{
	struct probe *p;
	int i = 0;

	if (L->nheap == 0)
		return NULL;
	p = &L->pr[L->heap[0]];
	heap_swap(L, 0, --L->nheap);
	p->heap_at = -1;
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;

		if (l < L->nheap && heap_key(L, l) < heap_key(L, m))
			m = l;
		if (r < L->nheap && heap_key(L, r) < heap_key(L, m))
			m = r;
		if (m == i)
			break;
		heap_swap(L, i, m);
		i = m;
	}
	return p;
}

/* P_WAIT until start_at. */
static void wait_until(struct load *L, struct probe *p, int64_t start_at)
{
	p->st = P_WAIT;
	p->start_at = start_at;
	heap_push(L, p);
}

static void unwatch(struct load *L, struct probe *p)
{
	if (p->fd >= 0 && p->watching)
		epoll_ctl(L->ep, EPOLL_CTL_DEL, p->fd, NULL);
	p->fd = -1;
	p->watching = 0;
}

/* Watches the session's socket for what libssh waits for. */
static void watch(struct load *L, struct probe *p)
{
	struct epoll_event ev = { 0 };
	int fd = ssh_get_fd(p->ssh);
	int want = EPOLLIN;

	if (fd < 0)
		return;
	if (ssh_get_poll_flags(p->ssh) & SSH_WRITE_PENDING)
		want |= EPOLLOUT;
	if (fd != p->fd)
		unwatch(L, p);
	if (want == p->watching)
		return;
	ev.events = (uint32_t)want;
	ev.data.u32 = (uint32_t)(p - L->pr);
	if (epoll_ctl(L->ep, p->watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0) {
		p->fd = fd;
		p->watching = want;
	}
}

static void cmd_end(struct probe *p)
{
	if (p->cmd) {
		ssh_channel_close(p->cmd);
		ssh_channel_free(p->cmd);
	}
	p->cmd = NULL;
	vt_dlg_server_free(p->dlg);
	p->dlg = NULL;
	vt_buf_free(&p->out);
}

static void link_down(struct load *L, struct probe *p)
{
	unwatch(L, p);
	cmd_end(p);
	if (p->keep)
		ssh_channel_free(p->keep);
	p->keep = NULL;
	if (p->ssh) {
		ssh_disconnect(p->ssh);
		ssh_free(p->ssh);
	}
	p->ssh = NULL;
}

static int link_new(struct load *L, struct probe *p)
{
	int no = 0, one = 1;

	if (!(p->ssh = ssh_new()))
		return -1;
	ssh_options_set(p->ssh, SSH_OPTIONS_HOST, "127.0.0.1");
	ssh_options_set(p->ssh, SSH_OPTIONS_PORT, p->port ? &p->port : &L->port);
	ssh_options_set(p->ssh, SSH_OPTIONS_USER, "atlas");
	ssh_options_set(p->ssh, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
	ssh_options_set(p->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(p->ssh, SSH_OPTIONS_HOSTKEYS, L->hostkeys);
	ssh_options_set(p->ssh, SSH_OPTIONS_NODELAY, &one);
	ssh_set_blocking(p->ssh, 0);
	return 0;
}

/* The probe's backoff: a try after a uniform delay in [0, 1 s << attempt]. */
static void backoff(struct load *L, struct probe *p)
{
	long cap = 1000L << (p->attempt < 8 ? p->attempt : 8);

	p->attempt++;
	L->retries++;
	wait_until(L, p, vt_mono_ms() + (long)((uint64_t)(unsigned)rand() *
					       (uint64_t)(cap + 1) /
					       ((uint64_t)RAND_MAX + 1)));
}

/* A failed try: the probe backs off, or gives up after max_tries. */
static void link_failed(struct load *L, struct probe *p)
{
	link_down(L, p);
	L->active--;
	if (L->max_tries && p->attempt + 1 >= L->max_tries) {
		p->st = P_FAILED;
		L->failed++;
		return;
	}
	backoff(L, p);
}

/* The command channel: the probe's side of the dialogue. */
static enum vt_dlg_error accept_all(void *arg, const struct vt_dlg_cmd *cmd)
{
	(void)arg;
	(void)cmd;
	return VT_DLG_OK;
}

static void flush_out(struct probe *p)
{
	while (p->cmd && p->out.len) {
		int w = ssh_channel_write(p->cmd, p->out.data, (uint32_t)p->out.len);

		if (w <= 0)
			return;
		vt_buf_consume(&p->out, (size_t)w);
	}
}

static void serve_up(struct load *L, struct probe *p)
{
	char buf[4096];
	int n, rc = VT_EAGAIN;

	if (!p->cmd && (p->cmd = ssh_channel_open_forward_port(p->ssh, 0, NULL, NULL, NULL))) {
		vt_buf_init(&p->out, 256 * 1024);
		if (vt_dlg_server_new(p->id, "bench", p->sid, accept_all, NULL,
				      &p->dlg, &p->out) < 0)
			cmd_end(p);
	}
	while (p->cmd && (n = ssh_channel_read_nonblocking(p->cmd, buf, sizeof buf, 0)) > 0)
		if ((rc = vt_dlg_server_feed(p->dlg, buf, (size_t)n, &p->out)) != VT_EAGAIN)
			break;
	flush_out(p);
	if (p->cmd && rc == VT_OK && !p->pushed) {
		p->pushed = 1;
		L->pushed++;
	}
	if (p->cmd && (rc != VT_EAGAIN || ssh_channel_is_eof(p->cmd) ||
		       ssh_channel_is_closed(p->cmd)))
		cmd_end(p);
	while (p->keep && ssh_channel_read_nonblocking(p->keep, buf, sizeof buf, 0) > 0)
		L->keep_output++;
	if (!ssh_is_connected(p->ssh) || (p->keep && ssh_channel_is_closed(p->keep))) {
		/* The link dropped after KEEP: a probe reconnects after its
		 * backoff, from the first step (bounded tries: counted failed). */
		link_down(L, p);
		L->up--;
		L->drops++;
		if (L->max_tries) {
			p->st = P_FAILED;
			L->failed++;
		} else {
			p->attempt = 0;
			backoff(L, p);
		}
	}
}

/* Moves one probe on as far as its socket allows. */
static void step(struct load *L, struct probe *p)
{
	int rc, bound = 0;

	for (;;) {
		switch (p->st) {
		case P_CONNECT:
			rc = ssh_connect(p->ssh);
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			p->st = P_AUTH;
			break;
		case P_AUTH:
			rc = ssh_userauth_publickey(p->ssh, NULL, p->key);
			if (rc == SSH_AUTH_AGAIN)
				goto wait;
			if (rc != SSH_AUTH_SUCCESS)
				goto fail;
			if (L->mode == M_BARE) {
				link_down(L, p);
				p->st = P_DONE;
				L->active--;
				L->done++;
				return;
			}
			p->st = P_FWD;
			break;
		case P_FWD:   /* OpenSSH asks for -R before it opens the session */
			rc = ssh_channel_listen_forward(p->ssh, "localhost", 2023, &bound);
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			p->st = P_OPEN;
			break;
		case P_OPEN:
			if (!p->keep && !(p->keep = ssh_channel_new(p->ssh)))
				goto fail;
			rc = ssh_channel_open_session(p->keep);
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			p->st = P_EXEC;
			break;
		case P_EXEC:
			rc = ssh_channel_request_exec(p->keep, "KEEP");
			if (rc == SSH_AGAIN)
				goto wait;
			if (rc != SSH_OK)
				goto fail;
			p->st = P_UP;
			L->active--;
			L->up++;
			break;
		case P_UP:
			serve_up(L, p);
			if (p->st == P_UP)
				goto wait;
			return;
		default:
			return;
		}
	}
wait:
	watch(L, p);
	return;
fail:
	link_failed(L, p);
}

static void begin(struct load *L, struct probe *p)
{
	if (link_new(L, p) < 0) {
		p->st = P_FAILED;
		L->failed++;
		return;
	}
	L->active++;
	p->st = P_CONNECT;
	p->deadline = vt_mono_ms() + HANDSHAKE_MS;
	step(L, p);
}

/* Runs the loop until every probe of 0..k-1 is up (KEEP) or done (bare)
 * or failed, or until `until` (mono ms). */
static void drive(struct load *L, int k, int window, int64_t until)
{
	struct epoll_event evs[256];
	int64_t next_step = vt_mono_ms() + STEP_MS;

	for (;;) {
		int64_t now = vt_mono_ms(), wake = next_step;
		int n;

		if (L->up + L->done + L->failed >= k || now >= until ||
		    (L->want > 0 && L->up >= L->want))
			return;
		while (L->nheap > 0 && heap_key(L, 0) <= now &&
		       (window <= 0 || L->active < window))
			begin(L, heap_pop(L));
		if (L->nheap > 0 && heap_key(L, 0) > now && heap_key(L, 0) < wake)
			wake = heap_key(L, 0);
		n = epoll_wait(L->ep, evs, 256, wake > now ? (int)(wake - now) : 0);
		for (int i = 0; i < n; i++)
			step(L, &L->pr[evs[i].data.u32]);
		if (vt_mono_ms() >= next_step) {
			now = vt_mono_ms();
			for (int i = 0; i < k; i++) {
				struct probe *p = &L->pr[i];

				if (p->st < P_CONNECT || p->st > P_EXEC)
					continue;
				if (now > p->deadline)
					link_failed(L, p);
			}
			next_step = now + STEP_MS;
		}
	}
}

/* Serves the held links until every one of 0..k-1 had a push answered. */
static void serve_pushes(struct load *L, int k, int64_t until)
{
	struct epoll_event evs[256];

	while (L->pushed < L->up && vt_mono_ms() < until) {
		int n;

		while (L->nheap > 0 && heap_key(L, 0) <= vt_mono_ms())
			begin(L, heap_pop(L));   /* a link lost meanwhile */
		n = epoll_wait(L->ep, evs, 256, 100);

		for (int i = 0; i < n; i++)
			step(L, &L->pr[evs[i].data.u32]);
	}
	(void)k;
}

static void reset(struct load *L, int k, enum mode mode, int jitter,
		  unsigned max_tries)
{
	int64_t now = vt_mono_ms();

	L->nheap = 0;
	for (int i = 0; i < L->n; i++) {
		struct probe *p = &L->pr[i];

		link_down(L, p);
		p->st = P_IDLE;
		p->heap_at = -1;
		p->attempt = 0;
		p->pushed = 0;
		p->deadline = 0;
		if (i < k)
			wait_until(L, p, now + (jitter > 0 ? rand() % (jitter + 1) : 0));
	}
	L->mode = mode;
	L->max_tries = max_tries;
	L->active = L->up = L->done = L->failed = L->retries = L->pushed = 0;
	L->keep_output = L->drops = 0;
	L->want = 0;
}

/* The probes of a storm, in a table of this connection's own, so that
 * counting the recorded ones is a join, not a scan of an array per row
 * (which costs PostgreSQL whole seconds per poll at 10,000 probes). */
static int storm_ids(struct load *L, const char *ids)
{
	const char *p[1] = { ids };
	PGresult *r;
	int ok;

	r = PQexec(L->db, "CREATE TEMP TABLE IF NOT EXISTS storm_ids"
		   " (id bigint PRIMARY KEY); TRUNCATE storm_ids");
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return -1;
	r = PQexecParams(L->db, "INSERT INTO storm_ids SELECT unnest($1::bigint[])",
			 1, NULL, p, NULL, NULL, 0);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	r = PQexec(L->db, "ANALYZE storm_ids");
	PQclear(r);
	return ok ? 0 : -1;
}

static int recorded(struct load *L, const char *since)
{
	const char *p[1] = { since };
	PGresult *r = PQexecParams(L->db, "SELECT count(*) FROM probe_sessions s"
				   " JOIN storm_ids i ON i.id = s.probe_id"
				   " WHERE s.connected AND s.bind_addr IS NOT NULL"
				   " AND s.since >= $1::timestamptz",
				   1, NULL, p, NULL, NULL, 0);
	int n = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

static void storm(struct load *L, int k, int jitter, int pid)
{
	struct vt_buf ids;
	char since[64] = "";
	PGresult *r;
	int64_t t0, t_up, t_rec = -1, t_push = -1, c0;
	long long s0, s_up, s_rec = -1, s_push = -1, y0 = 0, y_up = 0;
	int rec = 0;

	vt_buf_init(&ids, 0);
	if (vt_buf_addc(&ids, '{') < 0)
		return;
	for (int i = 0; i < k; i++)
		if (vt_buf_addf(&ids, "%s%ld", i ? "," : "", L->pr[i].id) < 0)
			return;
	if (vt_buf_addc(&ids, '}') < 0 || storm_ids(L, ids.data) < 0) {
		fprintf(stderr, "gw_load: storm ids: %s", PQerrorMessage(L->db));
		vt_buf_free(&ids);
		return;
	}
	r = PQexec(L->db, "SELECT now()");
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		snprintf(since, sizeof since, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	reset(L, k, M_KEEP, jitter, 0);   /* probes retry until all are back */
	t0 = vt_mono_ms();
	c0 = cpu_self_ms();
	s0 = cpu_pid_split(pid, &y0);
	drive(L, k, 0, t0 + STORM_MAX_MS);
	t_up = vt_mono_ms();
	s_up = cpu_pid_split(pid, &y_up);
	while (vt_mono_ms() < t0 + STORM_MAX_MS) {
		if ((rec = recorded(L, since)) >= k) {
			t_rec = vt_mono_ms();
			s_rec = cpu_pid_ms(pid);
			break;
		}
		serve_pushes(L, k, vt_mono_ms() + 100);
	}
	serve_pushes(L, k, vt_mono_ms() + PUSH_WAIT_MS);
	if (L->pushed >= k) {
		t_push = vt_mono_ms();
		s_push = cpu_pid_ms(pid);
	}
	printf("storm k=%d jitter=%d up=%d recorded=%d pushed=%d retries=%d"
	       " up_ms=%lld rec_ms=%lld push_ms=%lld srv_cpu_up=%lld"
	       " srv_cpu_rec=%lld srv_cpu_push=%lld srv_sys_up=%lld cli_cpu=%lld"
	       " keep_output=%d drops=%d\n",
	       k, jitter, L->up, rec, L->pushed, L->retries, (long long)(t_up - t0),
	       t_rec < 0 ? -1LL : (long long)(t_rec - t0),
	       t_push < 0 ? -1LL : (long long)(t_push - t0), s_up - s0,
	       s_rec < 0 ? -1LL : s_rec - s0, s_push < 0 ? -1LL : s_push - s0,
	       y_up - y0, (long long)(cpu_self_ms() - c0), L->keep_output, L->drops);
	fflush(stdout);
	vt_buf_free(&ids);
}

/* PID's peak resident memory (VmHWM, KiB) or -1. */
static long peak_kib(int pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void herd(struct load *L, int k, int jitter, int pid, int want)
{
	int64_t t0, c0;
	long long s0;

	reset(L, k, M_KEEP, jitter, 0);
	L->want = want;
	t0 = vt_mono_ms();
	c0 = cpu_self_ms();
	s0 = cpu_pid_ms(pid);
	drive(L, k, 0, t0 + STORM_MAX_MS);
	printf("herd k=%d want=%d jitter=%d up=%d refused=%d up_ms=%lld"
	       " srv_cpu=%lld cli_cpu=%lld srv_peak_kib=%ld\n", k, want, jitter,
	       L->up, L->retries, (long long)(vt_mono_ms() - t0),
	       cpu_pid_ms(pid) - s0, (long long)(cpu_self_ms() - c0),
	       peak_kib(pid));
	fflush(stdout);
	L->want = 0;
}

static void hold(struct load *L, int k, int window)
{
	int64_t t0 = vt_mono_ms(), t_up, c0 = cpu_self_ms();

	reset(L, k, M_KEEP, 0, HOLD_TRIES);
	drive(L, k, window, t0 + STORM_MAX_MS);
	t_up = vt_mono_ms();
	serve_pushes(L, k, vt_mono_ms() + PUSH_WAIT_MS);
	printf("held k=%d ok=%d failed=%d retries=%d pushed=%d ms=%lld push_ms=%lld"
	       " cli_cpu=%lld\n", k, L->up, L->failed, L->retries, L->pushed,
	       (long long)(t_up - t0), (long long)(vt_mono_ms() - t0),
	       (long long)(cpu_self_ms() - c0));
	fflush(stdout);
}

/* One registration INIT of p on port (blocking); its controller port, or
 * -1. */
static int reg_one(struct load *L, struct probe *p, int port)
{
	static const char req[] = "P_TO_R_INIT\nTOKEN_SPECS gw_load 1000 5120 "
		"linux/1/x86_64\nREASON_FOR_REGISTRATION NEW\n";
	struct vt_reg_reply rep;
	ssh_session s = ssh_new();
	ssh_channel ch = NULL;
	char buf[8192];
	int no = 0, n, len = 0, rc = -1;

	if (!s)
		return -1;
	ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
	ssh_options_set(s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(s, SSH_OPTIONS_USER, "atlas");
	ssh_options_set(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
	ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, L->hostkeys);
	if (ssh_connect(s) != SSH_OK ||
	    ssh_userauth_publickey(s, NULL, p->key) != SSH_AUTH_SUCCESS ||
	    !(ch = ssh_channel_new(s)) || ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, "INIT") != SSH_OK ||
	    ssh_channel_write(ch, req, sizeof req - 1) != (int)sizeof req - 1 ||
	    ssh_channel_send_eof(ch) != SSH_OK)
		goto out;
	while (len < (int)sizeof buf - 1 &&
	       (n = ssh_channel_read_timeout(ch, buf + len, (uint32_t)(sizeof buf - 1 - len),
					     0, 30000)) > 0)
		len += n;
	if (vt_reg_reply_parse(buf, (size_t)len, &rep) == 0 && !rep.wait &&
	    rep.ctrl_port > 0)
		rc = rep.ctrl_port;
out:
	if (ch)
		ssh_channel_free(ch);
	ssh_disconnect(s);
	ssh_free(s);
	return rc;
}

/* Registers probes 0..k-1 on ports[i % nports], par processes at once. */
static void reg_all(struct load *L, int k, int par, const int *ports, int nports)
{
	int64_t t0 = vt_mono_ms();
	int fds[2], ok = 0, idx, port;
	FILE *in;

	if (par < 1)
		par = 1;
	for (int i = 0; i < k; i++)
		L->pr[i].port = 0;
	if (pipe(fds) < 0) {
		printf("error pipe\n");
		fflush(stdout);
		return;
	}
	fflush(stdout);
	for (int c = 0; c < par; c++) {
		pid_t pid = fork();

		if (pid == 0) {
			FILE *out = fdopen(fds[1], "w");

			close(fds[0]);
			for (int i = c; i < k && out; i += par)
				fprintf(out, "%d %d\n", i,
					reg_one(L, &L->pr[i], ports[i % nports]));
			if (out)
				fclose(out);
			_exit(0);
		}
	}
	close(fds[1]);
	if ((in = fdopen(fds[0], "r"))) {
		while (fscanf(in, "%d %d", &idx, &port) == 2)
			if (idx >= 0 && idx < k && port > 0) {
				L->pr[idx].port = port;
				ok++;
			}
		fclose(in);
	}
	while (wait(NULL) > 0)
		;
	printf("registered k=%d ok=%d ms=%lld\n", k, ok,
	       (long long)(vt_mono_ms() - t0));
	fflush(stdout);
}

static void bare(struct load *L, int k, int pid)
{
	int64_t t0, c0;
	long long s0, s1, y0 = 0, y1 = 0;

	reset(L, k, M_BARE, 0, 1);
	t0 = vt_mono_ms();
	c0 = cpu_self_ms();
	s0 = cpu_pid_split(pid, &y0);
	drive(L, k, 0, t0 + STORM_MAX_MS);
	s1 = cpu_pid_split(pid, &y1);
	printf("bare k=%d ok=%d failed=%d ms=%lld srv_cpu=%lld srv_sys=%lld cli_cpu=%lld\n",
	       k, L->done, L->failed, (long long)(vt_mono_ms() - t0),
	       s1 - s0, y1 - y0, (long long)(cpu_self_ms() - c0));
	fflush(stdout);
}

static int by_key(const void *a, const void *b)
{
	const struct probe *const *x = a, *const *y = b;

	return strcmp((*x)->b64, (*y)->b64);
}

/* Registers the probes: keys, rows in probes and probe_sessions. */
static int enroll(struct load *L)
{
	struct probe **order = calloc((size_t)L->n, sizeof *order);
	struct vt_buf keys;
	const char *prm[1];
	PGresult *r;
	int rc = -1;

	vt_buf_init(&keys, 0);
	if (!order)
		return -1;
	if (vt_buf_addc(&keys, '{') < 0)
		goto out;
	for (int i = 0; i < L->n; i++) {
		if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &L->pr[i].key) != SSH_OK ||
		    ssh_pki_export_pubkey_base64(L->pr[i].key, &L->pr[i].b64) != SSH_OK ||
		    vt_buf_addf(&keys, "%s\"%s\"", i ? "," : "", L->pr[i].b64) < 0)
			goto out;
	}
	if (vt_buf_addc(&keys, '}') < 0)
		goto out;
	prm[0] = keys.data;
	r = PQexecParams(L->db, "WITH k AS (INSERT INTO probes (key_type, pubkey)"
			 " SELECT 'ssh-ed25519', u.key FROM unnest($1::text[])"
			 " WITH ORDINALITY AS u(key, n) ORDER BY u.n RETURNING id, pubkey),"
			 " s AS (INSERT INTO probe_sessions (probe_id, session_id,"
			 " remote_port) SELECT id, md5(id::text), 2023 FROM k"
			 " RETURNING probe_id, session_id)"
			 " SELECT k.pubkey, s.probe_id, s.session_id FROM k"
			 " JOIN s ON s.probe_id = k.id", 1, NULL, prm, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != L->n) {
		fprintf(stderr, "gw_load: %s", PQerrorMessage(L->db));
		PQclear(r);
		goto out;
	}
	/* Rows come back in any order: match them to the keys. */
	for (int i = 0; i < L->n; i++)
		order[i] = &L->pr[i];
	qsort(order, (size_t)L->n, sizeof *order, by_key);
	for (int j = 0; j < L->n; j++) {
		struct probe want = { .b64 = PQgetvalue(r, j, 0) }, *wp = &want, **hit;

		hit = bsearch(&wp, order, (size_t)L->n, sizeof *order, by_key);
		if (!hit)
			continue;
		(*hit)->id = atol(PQgetvalue(r, j, 1));
		snprintf((*hit)->sid, sizeof (*hit)->sid, "%s", PQgetvalue(r, j, 2));
	}
	for (int i = 0; i < L->n; i++)
		if (!L->pr[i].id) {
			fprintf(stderr, "gw_load: probe %d not enrolled\n", i);
			PQclear(r);
			goto out;
		}
	PQclear(r);
	rc = 0;
out:
	for (int i = 0; i < L->n; i++) {
		ssh_string_free_char(L->pr[i].b64);
		L->pr[i].b64 = NULL;
	}
	free(order);
	vt_buf_free(&keys);
	return rc;
}

int main(int argc, char **argv)
{
	struct load L = { .ep = -1 };
	struct rlimit rl;
	char line[128];
	int k, a, b;

	if (argc != 4 || (strcmp(argv[3], "rsa") && strcmp(argv[3], "ed25519"))) {
		fprintf(stderr, "usage: gw_load DB COUNT rsa|ed25519\n");
		return 2;
	}
	L.n = atoi(argv[2]);
	L.hostkeys = !strcmp(argv[3], "rsa") ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa"
		: "ssh-ed25519";
	if (L.n <= 0 || !(L.pr = calloc((size_t)L.n, sizeof *L.pr)) ||
	    !(L.heap = calloc((size_t)L.n, sizeof *L.heap)))
		return 2;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 0; i < L.n; i++)
		L.pr[i].fd = -1;
	srand((unsigned)getpid());
	ssh_init();
	L.db = PQconnectdb(argv[1]);
	if (PQstatus(L.db) != CONNECTION_OK || enroll(&L) < 0 ||
	    (L.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "gw_load: cannot set up: %s", PQerrorMessage(L.db));
		return 1;
	}
	printf("ready %d\n", L.n);
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		int pid = 0;

		if (sscanf(line, "hold %d %d %d", &L.port, &k, &a) == 3 && k <= L.n)
			hold(&L, k, a);
		else if (sscanf(line, "storm %d %d %d %d", &L.port, &k, &a, &pid) == 4 &&
			 k <= L.n)
			storm(&L, k, a, pid);
		else if (sscanf(line, "herd %d %d %d %d %d", &L.port, &k, &a, &pid,
				&b) == 5 && k <= L.n && b > 0 && b <= k)
			herd(&L, k, a, pid, b);
		else if (!strncmp(line, "register ", 9)) {
			int ports[8], np = 0, off = 9, used;

			if (sscanf(line + off, "%d %d%n", &k, &a, &used) == 2 && k <= L.n) {
				off += used;
				while (np < 8 && sscanf(line + off, "%d%n", &ports[np], &used) == 1) {
					off += used;
					np++;
				}
			}
			if (np > 0)
				reg_all(&L, k, a, ports, np);
			else {
				printf("error register K PAR PORT...\n");
				fflush(stdout);
			}
		} else if (sscanf(line, "bare %d %d %d", &L.port, &k, &b) == 3 && k <= L.n)
			bare(&L, k, b);
		else if (!strncmp(line, "quit", 4))
			break;
		else {
			printf("error unknown command\n");
			fflush(stdout);
		}
	}
	for (int i = 0; i < L.n; i++) {
		link_down(&L, &L.pr[i]);
		ssh_key_free(L.pr[i].key);
	}
	free(L.pr);
	free(L.heap);
	close(L.ep);
	PQfinish(L.db);
	ssh_finalize();
	return 0;
}
