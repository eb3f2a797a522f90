/* inbox.c - a loop thread's inbox (see inbox.h). */
#include "controller/gateway/inbox.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

struct gw_inbox {
	pthread_mutex_t mu;
	struct gw_job  *head, *tail;
	int             efd;
	struct vt_loop *loop;
};

static void on_wake(struct vt_loop *loop, int fd, int events, void *arg)
{
	uint64_t n;

	(void)loop;
	(void)events;
	if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN && errno != EINTR)
		return;
	(void)gw_inbox_drain(arg);
}

int gw_inbox_new(struct vt_loop *loop, struct gw_inbox **out)
{
	struct gw_inbox *b = calloc(1, sizeof *b);
	int rc;

	*out = NULL;
	if (!b)
		return VT_ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	if ((b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		pthread_mutex_destroy(&b->mu);
		free(b);
		return VT_EIO;
	}
	if ((rc = vt_loop_add(loop, b->efd, VT_EV_READ, on_wake, b)) < 0) {
		close(b->efd);
		pthread_mutex_destroy(&b->mu);
		free(b);
		return rc;
	}
	b->loop = loop;
	*out = b;
	return VT_OK;
}

void gw_inbox_free(struct gw_inbox *b)
{
	if (!b)
		return;
	while (gw_inbox_drain(b) > 0)
		;
	vt_loop_del(b->loop, b->efd);
	close(b->efd);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

void gw_inbox_post(struct gw_inbox *b, struct gw_job *j)
{
	uint64_t one = 1;
	int was_empty;
	ssize_t r;

	j->qnext = NULL;
	pthread_mutex_lock(&b->mu);
	was_empty = b->head == NULL;
	if (b->tail)
		b->tail->qnext = j;
	else
		b->head = j;
	b->tail = j;
	pthread_mutex_unlock(&b->mu);
	if (!was_empty)
		return;   /* the owner was woken already and drains the list */
	do
		r = write(b->efd, &one, sizeof one);
	while (r < 0 && errno == EINTR);
}

int gw_inbox_drain(struct gw_inbox *b)
{
	struct gw_job *j, *next;
	int n = 0;

	for (;;) {
		pthread_mutex_lock(&b->mu);
		j = b->head;
		b->head = b->tail = NULL;
		pthread_mutex_unlock(&b->mu);
		if (!j)
			return n;
		for (; j; j = next) {
			next = j->qnext;
			j->done(j);
			n++;
		}
	}
}
