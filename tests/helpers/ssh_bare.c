/* ssh_bare - a bare libssh server, the reference of tests/bench/gateway.sh.
 *
 *   ssh_bare KEYDIR PORT [kept]
 *
 * Listens on 127.0.0.1:PORT with the host keys ssh_host_ed25519_key and
 * ssh_host_rsa_key of KEYDIR (the gateway's), set up as the gateway sets up
 * its libssh server, and does nothing but the handshake: key exchange and
 * public-key auth accepting every key, one process, non-blocking sessions
 * on epoll with a libssh event per session (the gateway's design).  A
 * session ends when the client closes it.  Prints "listening" once ready;
 * runs until killed.  With "kept", the RSA host key's signing state is
 * kept across sessions as the gateway keeps it (controller/gateway/
 * rsashare.h); without, it is stock libssh, which rebuilds it for every
 * session. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <libssh/callbacks.h>

#include "controller/gateway/rsashare.h"

enum { B_KEX, B_AUTH, B_DONE };

struct conn {
	ssh_session ssh;
	ssh_event   ev;
	int         fd;
	int         st;
	int         watching;
	struct ssh_server_callbacks_struct cb;
};

static int auth_any(ssh_session ssh, const char *user, struct ssh_key_struct *key,
		    char state, void *arg)
{
	struct conn *c = arg;

	(void)ssh;
	(void)user;
	(void)key;
	if (state == SSH_PUBLICKEY_STATE_VALID)
		c->st = B_DONE;
	return state == SSH_PUBLICKEY_STATE_NONE || state == SSH_PUBLICKEY_STATE_VALID
		? SSH_AUTH_SUCCESS : SSH_AUTH_DENIED;
}

static void conn_free(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ev) {
		ssh_event_remove_session(c->ev, c->ssh);
		ssh_event_free(c->ev);
	}
	ssh_disconnect(c->ssh);
	ssh_free(c->ssh);
	free(c);
}

/* Moves a session on; returns -1 once it is over (freed). */
static int conn_step(int ep, struct conn *c)
{
	struct epoll_event e = { 0 };
	int rc, want = EPOLLIN;

	if (c->st == B_KEX) {
		rc = ssh_handle_key_exchange(c->ssh);
		if (rc == SSH_OK)
			c->st = B_AUTH;
		else if (rc != SSH_AGAIN)
			goto over;
	} else if (ssh_event_dopoll(c->ev, 0) == SSH_ERROR) {
		goto over;
	}
	if (ssh_get_status(c->ssh) & (SSH_CLOSED | SSH_CLOSED_ERROR))
		goto over;
	if (ssh_get_poll_flags(c->ssh) & SSH_WRITE_PENDING)
		want |= EPOLLOUT;
	if (want != c->watching) {
		e.events = (uint32_t)want;
		e.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
		c->watching = want;
	}
	return 0;
over:
	conn_free(ep, c);
	return -1;
}

static void conn_new(int ep, ssh_bind bind, int fd)
{
	struct conn *c = calloc(1, sizeof *c);
	struct epoll_event e = { 0 };
	int one = 1, rc;

	if (!c) {
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	if (!(c->ssh = ssh_new()) || ssh_bind_accept_fd(bind, c->ssh, fd) != SSH_OK) {
		if (c->ssh)
			ssh_free(c->ssh);
		close(fd);
		free(c);
		return;
	}
	ssh_set_blocking(c->ssh, 0);
	ssh_callbacks_init(&c->cb);
	c->cb.userdata = c;
	c->cb.auth_pubkey_function = auth_any;
	ssh_set_server_callbacks(c->ssh, &c->cb);
	ssh_set_auth_methods(c->ssh, SSH_AUTH_METHOD_PUBLICKEY);
	/* The first step of the key exchange sets up libssh's poll handle,
	 * which the session's event then takes over (the gateway's order). */
	rc = ssh_handle_key_exchange(c->ssh);
	if (rc == SSH_OK)
		c->st = B_AUTH;
	e.events = EPOLLIN;
	e.data.ptr = c;
	c->watching = EPOLLIN;
	if ((rc != SSH_OK && rc != SSH_AGAIN) || !(c->ev = ssh_event_new()) ||
	    ssh_event_add_session(c->ev, c->ssh) != SSH_OK ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		conn_free(ep, c);
		return;
	}
	conn_step(ep, c);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event e = { .events = EPOLLIN }, evs[256];
	char path[4096];
	struct rlimit rl;
	ssh_bind sb;
	int lfd, ep, one = 1;
	bool no = false;
	struct gw_rsashare *kept = NULL;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "kept"))) {
		fprintf(stderr, "usage: ssh_bare KEYDIR PORT [kept]\n");
		return 2;
	}
	if (argc == 4 && gw_rsashare_new(&kept) < 0)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	ssh_init();
	sb = ssh_bind_new();
	if (!sb || ssh_bind_options_set(sb, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0)
		return 1;
	/* Keys imported as the gateway does (a path is only read by
	 * ssh_bind_listen, which the bare server does not use either). */
	for (int i = 0; i < 2; i++) {
		ssh_key key = NULL;

		snprintf(path, sizeof path, "%s/%s", argv[1],
			 i ? "ssh_host_rsa_key" : "ssh_host_ed25519_key");
		if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK ||
		    ssh_bind_options_set(sb, SSH_BIND_OPTIONS_IMPORT_KEY, key) < 0) {
			fprintf(stderr, "ssh_bare: %s: cannot use it\n", path);
			return 1;
		}
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
		perror("ssh_bare: listen");
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	e.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) < 0)
		return 1;
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr) {
				conn_step(ep, evs[i].data.ptr);
				continue;
			}
			for (int j = 0; j < 64; j++) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

				if (fd < 0)
					break;
				conn_new(ep, sb, fd);
			}
		}
	}
}
