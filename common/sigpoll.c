/* sigpoll.c - a wait that a signal's flag always ends (see sigpoll.h). */
#include "sigpoll.h"

#include <pthread.h>
#include <time.h>

int vt_sigpoll(struct pollfd *p, nfds_t n, int ms,
	       const volatile sig_atomic_t *a, const volatile sig_atomic_t *b)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	sigset_t block, old;
	int r = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (!*a && !(b && *b))
		r = ppoll(p, n, ms < 0 ? NULL : &ts, &old);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
