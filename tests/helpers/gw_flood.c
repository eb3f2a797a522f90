/* gw_flood - an unauthenticated connection flood, for
 * tests/integration/gateway_limits.sh.
 *
 *   gw_flood PORT N
 *
 * Opens N TCP connections to 127.0.0.1:PORT and holds them without sending
 * a byte, prints "open=K failed=F" once every connect has completed, then
 * obeys lines on stdin:
 *
 *   count   -> "closed=C open=O": connections the server has closed so far
 *
 * and closes everything and exits at EOF. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_one(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 when the server closed fd (EOF or reset); reads what it sent. */
static int closed(int fd)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == 0)
			return 1;
		return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	char line[64];
	int port, n, nopen = 0, nfail = 0, *fds, *gone;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: gw_flood PORT N\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc((size_t)n, sizeof *fds);
	gone = calloc((size_t)n, sizeof *gone);
	if (!fds || !gone)
		return 1;
	for (int i = 0; i < n; i++) {
		fds[i] = connect_one(port);
		if (fds[i] < 0)
			nfail++;
		else
			nopen++;
	}
	printf("open=%d failed=%d\n", nopen, nfail);
	fflush(stdout);
	while (fgets(line, sizeof line, stdin)) {
		int c = 0, o = 0;

		if (strncmp(line, "count", 5) != 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (fds[i] < 0)
				continue;
			if (!gone[i] && closed(fds[i]))
				gone[i] = 1;
			if (gone[i])
				c++;
			else
				o++;
		}
		printf("closed=%d open=%d\n", c, o);
		fflush(stdout);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(gone);
	return 0;
}
