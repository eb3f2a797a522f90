/* gw_cmdport - the probe's command port for gateway tests: listens on
 * 127.0.0.1:PORT and serves the command dialogue (proto/dialogue.h) on each
 * connection, appending every command it receives to LOG as
 * "CRONTAB path", "CRONLINE line", "ONEOFF path line", then "OK" or the
 * error at the end of each batch.  Stops after COUNT connections.
 *
 *   gw_cmdport PORT PROBE_ID SESSION_ID LOG [COUNT] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "proto/dialogue.h"

static enum vt_dlg_error on_cmd(void *arg, const struct vt_dlg_cmd *cmd)
{
	FILE *log = arg;
	static const char *names[] = { "CRONTAB", "CRONLINE", "CRONTAB_END",
				       "ONEOFF", "REBOOT", "RELOAD" };

	fprintf(log, "%s", names[cmd->type]);
	if (cmd->path)
		fprintf(log, " %s", cmd->path);
	if (cmd->line)
		fprintf(log, " %s", cmd->line);
	fputc('\n', log);
	fflush(log);
	return VT_DLG_OK;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void serve(int fd, long probe_id, const char *sid, FILE *log)
{
	struct vt_dlg_server *srv = NULL;
	struct vt_buf out;
	char in[4096];
	int rc = VT_EAGAIN;

	vt_buf_init(&out, 0);
	if (vt_dlg_server_new(probe_id, "test", sid, on_cmd, log, &srv, &out) < 0)
		goto done;
	while (rc == VT_EAGAIN) {
		ssize_t n;

		if (out.len && send_all(fd, out.data, out.len) < 0)
			break;
		vt_buf_reset(&out);
		if ((n = read(fd, in, sizeof in)) <= 0)
			break;
		rc = vt_dlg_server_feed(srv, in, (size_t)n, &out);
	}
	if (out.len)
		(void)send_all(fd, out.data, out.len);
	fprintf(log, "%s\n", rc == VT_OK ? "OK" : rc == VT_EAUTH ? "BAD_PASSWORD" :
		rc == VT_EAGAIN ? "CLOSED" : "ERROR");
	fflush(log);
done:
	vt_dlg_server_free(srv);
	vt_buf_free(&out);
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int lfd, one = 1, count;
	FILE *log;

	if (argc < 5) {
		fprintf(stderr, "usage: gw_cmdport PORT PROBE_ID SESSION_ID LOG [COUNT]\n");
		return 2;
	}
	count = argc > 5 ? atoi(argv[5]) : 1;
	if (!(log = fopen(argv[4], "a")))
		return 1;
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(lfd, 8) < 0) {
		perror("gw_cmdport: listen");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return 1;
		serve(fd, atol(argv[2]), argv[3], log);
	}
	fclose(log);
	close(lfd);
	return 0;
}
