/* listen.c - the LISTEN thread (see listen.h). */
#include "controller/gateway/listen.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "common/vtime.h"

#define RETRY_MS  2000     /* key load retry after a failure */
#define IDLE_MS   1000     /* poll bound while LISTEN is down */
#define KEYS_NOTIFY_MS 1000 /* key reloads on vantage_keys at most this often */

struct gw_listen {
	struct gw_dbq *q;
	struct gw_db  *db;
	gw_job_done    done;
	void          *arg;
	int            stopfd;
	int            kickfd;     /* gw_listen_reload: load the keys now */
	pthread_t      th;
	int            started;
};

static int add_key(void *arg, long probe_id, const char *b64)
{
	return gw_keys_put(arg, b64, probe_id);
}

int gw_listen_load_keys(struct gw_db *db, struct gw_keys **out)
{
	struct gw_keys *k = NULL;
	int rc;

	*out = NULL;
	if ((rc = gw_keys_new(&k)) < 0)
		return rc;
	if ((rc = gw_db_keys(db, add_key, k)) < 0) {
		gw_keys_free(k);
		return rc;
	}
	*out = k;
	return VT_OK;
}

void gw_listen_reload(struct gw_listen *l)
{
	uint64_t one = 1;

	if (l && write(l->kickfd, &one, sizeof one) < 0)
		(void)0;   /* a kick is pending already */
}

void gw_listen_ev_free(struct gw_listen_ev *ev)
{
	if (!ev)
		return;
	gw_keys_free(ev->keys);
	free(ev);
}

static struct gw_listen_ev *ev_new(struct gw_listen *l)
{
	struct gw_listen_ev *ev = calloc(1, sizeof *ev);

	if (ev) {
		ev->job.done = l->done;
		ev->arg = l->arg;
	}
	return ev;
}

static void *listen_main(void *arg)
{
	struct gw_listen *l = arg;
	int64_t next_load = 0, last_load = 0;
	int fd = -1;

	for (;;) {
		struct pollfd p[3] = { { .fd = l->stopfd, .events = POLLIN },
				       { .fd = -1, .events = POLLIN },
				       { .fd = l->kickfd, .events = POLLIN } };
		struct gw_listen_ev *ev = NULL;
		int64_t now = vt_mono_ms(), wait;
		int nfd;

		if (fd < 0 && (fd = gw_db_listen_fd(l->db)) >= 0) {
			if ((ev = ev_new(l))) {
				ev->listening = 1;
				gw_dbq_post(l->q, &ev->job);
			}
			next_load = 0;   /* key changes may have been missed too */
		}
		if (now >= next_load) {
			struct gw_keys *k = NULL;

			if (gw_listen_load_keys(l->db, &k) == 0 && (ev = ev_new(l))) {
				ev->keys = k;
				gw_dbq_post(l->q, &ev->job);
				last_load = now;
				next_load = now + GW_KEYS_RELOAD_MS;
			} else {
				gw_keys_free(k);
				next_load = now + RETRY_MS;
			}
		}
		wait = next_load - now;
		if (fd < 0 && wait > IDLE_MS)
			wait = IDLE_MS;
		p[1].fd = fd;
		nfd = poll(p, 3, wait < 0 ? 0 : (int)wait);
		if (nfd < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (nfd > 0 && p[2].revents) {
			uint64_t v;

			if (read(l->kickfd, &v, sizeof v) < 0)
				(void)0;
			next_load = 0;
		}
		if (fd >= 0 && p[1].revents) {
			int notified = 0;

			if (gw_db_listen_drain(l->db, &notified) < 0) {
				fd = -1;   /* reopened (throttled) at the next round */
				continue;
			}
			/* A key added or changed: reloaded at once, at most
			 * once per KEYS_NOTIFY_MS however many come. */
			if ((notified & GW_NOTIFY_KEYS) &&
			    next_load > last_load + KEYS_NOTIFY_MS)
				next_load = last_load + KEYS_NOTIFY_MS;
			if ((notified & GW_NOTIFY_PUSH) && (ev = ev_new(l))) {
				ev->notified = 1;
				ev->ncrontab = gw_db_crontab_notified(l->db, ev->crontab,
								     GW_LISTEN_IDS_MAX,
								     &ev->overflow);
				gw_dbq_post(l->q, &ev->job);
			}
		}
	}
	return NULL;
}

int gw_listen_new(const char *conninfo, struct gw_dbq *q, gw_job_done done,
		  void *arg, struct gw_listen **out)
{
	struct gw_listen *l = calloc(1, sizeof *l);
	int rc;

	*out = NULL;
	if (!l)
		return VT_ENOMEM;
	l->q = q;
	l->done = done;
	l->arg = arg;
	l->kickfd = -1;
	if ((l->stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
		free(l);
		return VT_EIO;
	}
	if ((l->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = VT_EIO;
		goto fail;
	}
	if ((rc = gw_db_new(conninfo, &l->db)) < 0)
		goto fail;
	if (pthread_create(&l->th, NULL, listen_main, l) != 0) {
		rc = VT_EIO;
		goto fail;
	}
	l->started = 1;
	*out = l;
	return VT_OK;
fail:
	gw_listen_free(l);
	return rc;
}

void gw_listen_free(struct gw_listen *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	if (l->started) {
		if (write(l->stopfd, &one, sizeof one) < 0)
			(void)0;
		pthread_join(l->th, NULL);
	}
	close(l->stopfd);
	if (l->kickfd >= 0)
		close(l->kickfd);
	gw_db_free(l->db);
	free(l);
}
