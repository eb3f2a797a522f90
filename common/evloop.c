#include "evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vtime.h"

/* A watch is known to epoll by its fd and its generation, which changes
 * each time the fd is added: an event queued for a watch that was removed
 * (its fd closed, and the number perhaps reused by a new watch in the
 * same round) no longer matches and is dropped. */
struct fd_watch {
	vt_fd_cb cb;
	void *arg;
	int events;
	int active;
	uint32_t gen;
};

struct timer {
	int64_t due;
	uint64_t id;
	vt_timer_cb cb;
	void *arg;
};

struct vt_loop {
	int epfd;
	volatile sig_atomic_t stop;   /* set by vt_loop_stop, maybe from a signal */
	volatile sig_atomic_t *flag;  /* vt_loop_watch_flag's */
	uint32_t next_gen;
	struct fd_watch *fds;    /* indexed by fd */
	int nfds;
	struct timer *heap;      /* min-heap on (due, id) */
	size_t nheap, capheap;
	uint64_t next_id;
};

int vt_loop_new(struct vt_loop **out)
{
	struct vt_loop *l = calloc(1, sizeof *l);

	if (!l)
		return VT_ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return VT_EIO;
	}
	l->next_id = 1;
	*out = l;
	return VT_OK;
}

void vt_loop_free(struct vt_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l->fds);
	free(l->heap);
	free(l);
}

static uint32_t to_epoll(int events)
{
	uint32_t e = 0;

	if (events & VT_EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & VT_EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

static uint64_t ev_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int vt_loop_add(struct vt_loop *l, int fd, int events, vt_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = to_epoll(events) };
	uint32_t gen;

	if (fd < 0)
		return VT_EINVAL;
	if (fd >= l->nfds) {
		int n = l->nfds ? l->nfds : 64;
		struct fd_watch *nf;

		while (n <= fd)
			n *= 2;
		nf = realloc(l->fds, (size_t)n * sizeof *nf);
		if (!nf)
			return VT_ENOMEM;
		memset(nf + l->nfds, 0, (size_t)(n - l->nfds) * sizeof *nf);
		l->fds = nf;
		l->nfds = n;
	}
	if (l->fds[fd].active)
		return VT_EEXIST;
	gen = ++l->next_gen;
	ev.data.u64 = ev_data(fd, gen);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return VT_EIO;
	l->fds[fd] = (struct fd_watch){ cb, arg, events, 1, gen };
	return VT_OK;
}

int vt_loop_mod(struct vt_loop *l, int fd, int events)
{
	struct epoll_event ev = { .events = to_epoll(events) };

	if (fd < 0 || fd >= l->nfds || !l->fds[fd].active)
		return VT_ENOTFOUND;
	ev.data.u64 = ev_data(fd, l->fds[fd].gen);
	if (l->fds[fd].events == events)
		return VT_OK;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return VT_EIO;
	l->fds[fd].events = events;
	return VT_OK;
}

void vt_loop_del(struct vt_loop *l, int fd)
{
	if (fd < 0 || fd >= l->nfds || !l->fds[fd].active)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].active = 0;
}

static int timer_less(const struct timer *a, const struct timer *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void heap_up(struct vt_loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		struct timer t;

		if (!timer_less(&l->heap[i], &l->heap[p]))
			break;
		t = l->heap[i];
		l->heap[i] = l->heap[p];
		l->heap[p] = t;
		i = p;
	}
}

static void heap_down(struct vt_loop *l, size_t i)
{
	for (;;) {
		size_t a = 2 * i + 1, b = a + 1, m = i;
		struct timer t;

		if (a < l->nheap && timer_less(&l->heap[a], &l->heap[m]))
			m = a;
		if (b < l->nheap && timer_less(&l->heap[b], &l->heap[m]))
			m = b;
		if (m == i)
			return;
		t = l->heap[i];
		l->heap[i] = l->heap[m];
		l->heap[m] = t;
		i = m;
	}
}

static void heap_remove(struct vt_loop *l, size_t i)
{
	l->heap[i] = l->heap[--l->nheap];
	if (i < l->nheap) {
		heap_down(l, i);
		heap_up(l, i);
	}
}

int vt_loop_timer(struct vt_loop *l, int64_t ms, vt_timer_cb cb, void *arg,
		  uint64_t *id)
{
	if (l->nheap == l->capheap) {
		size_t n = l->capheap ? l->capheap * 2 : 64;
		struct timer *nh = realloc(l->heap, n * sizeof *nh);

		if (!nh)
			return VT_ENOMEM;
		l->heap = nh;
		l->capheap = n;
	}
	l->heap[l->nheap] = (struct timer){ vt_mono_ms() + (ms < 0 ? 0 : ms),
					    l->next_id++, cb, arg };
	if (id)
		*id = l->heap[l->nheap].id;
	l->nheap++;
	heap_up(l, l->nheap - 1);
	return VT_OK;
}

void vt_loop_timer_cancel(struct vt_loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->nheap; i++) {
		if (l->heap[i].id == id) {
			heap_remove(l, i);
			return;
		}
	}
}

static void run_timers(struct vt_loop *l)
{
	int64_t now = vt_mono_ms();

	while (l->nheap && l->heap[0].due <= now && !l->stop) {
		struct timer t = l->heap[0];

		heap_remove(l, 0);
		t.cb(l, t.arg);
	}
}

int vt_loop_once(struct vt_loop *l, int max_ms)
{
	struct epoll_event evs[256];
	int timeout = max_ms, n;

	if (l->nheap) {
		int64_t d = l->heap[0].due - vt_mono_ms();

		if (d < 0)
			d = 0;
		if (timeout < 0 || d < timeout)
			timeout = d > 1000000 ? 1000000 : (int)d;
	}
	n = epoll_wait(l->epfd, evs, 256, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return VT_OK;
		return VT_EIO;
	}
	for (int i = 0; i < n && !l->stop; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64, e = 0;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct fd_watch *w;

		if (fd >= l->nfds || !l->fds[fd].active || l->fds[fd].gen != gen)
			continue;   /* removed (or its fd reused) by an earlier callback */
		w = &l->fds[fd];
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
			e |= VT_EV_READ;
		if (evs[i].events & EPOLLOUT)
			e |= VT_EV_WRITE;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			e |= VT_EV_ERROR | (w->events & (VT_EV_READ | VT_EV_WRITE));
		w->cb(l, fd, e, w->arg);
	}
	run_timers(l);
	return VT_OK;
}

int vt_loop_run(struct vt_loop *l)
{
	int r = VT_OK;

	l->stop = 0;
	while (!l->stop && !(l->flag && *l->flag) && r == VT_OK)
		r = vt_loop_once(l, -1);
	return r;
}

void vt_loop_watch_flag(struct vt_loop *l, volatile sig_atomic_t *flag)
{
	l->flag = flag;
}

void vt_loop_stop(struct vt_loop *l)
{
	l->stop = 1;
}
