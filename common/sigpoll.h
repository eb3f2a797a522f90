/* sigpoll.h - a daemon's wait that a signal's flag always ends.
 *
 * A handler that only sets a flag (SIGTERM: stop, SIGHUP: reload) and a
 * loop that checks the flag, then poll()s, lose a signal that comes
 * between the check and the poll: the wait runs its whole timeout.
 * vt_sigpoll closes that window: it blocks SIGTERM, SIGINT, SIGHUP and
 * SIGUSR1, looks at the flags, and waits in ppoll() with them unblocked. */
#ifndef VT_SIGPOLL_H
#define VT_SIGPOLL_H

#include <poll.h>
#include <signal.h>

/* poll(p, n, ms), unless *a or *b (b may be NULL) is set already or gets
 * set by a handler meanwhile: then 0 at once.  Returns as poll. */
int vt_sigpoll(struct pollfd *p, nfds_t n, int ms,
	       const volatile sig_atomic_t *a, const volatile sig_atomic_t *b);

#endif
