/* cli_push.c - `vantage probe push ID FILE [--timeout S]`: records a command
 * batch for a probe, wakes the gateways (NOTIFY vantage_push) and waits for
 * the gateway holding the probe to deliver it and record the outcome. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/opt.h"
#include "common/pg.h"
#include "controller/cli/cli.h"
#include "controller/gateway/push.h"

static int read_file(const char *path, struct vt_buf *b)
{
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (vt_buf_add(b, chunk, n) < 0) {
			fclose(f);
			cli_error("%s: over %d bytes", path, GW_PUSH_MAX_TEXT);
			return -1;
		}
	fclose(f);
	return 0;
}

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int cli_probe_push(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_dlg_batch *batch = NULL;
	struct vt_buf text;
	PGresult *res = NULL;
	PGconn *db = NULL;
	char err[512], pid[32];
	long timeout = 30, waited = 0;
	int c, rc = 1;

	vt_buf_init(&text, GW_PUSH_MAX_TEXT);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (vt_opt_long("--timeout", optarg, 1, 3600, &timeout,
					err, sizeof err) < 0) {
				cli_error("probe push: %s (seconds)", err);
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2 || strspn(argv[optind], "0123456789") !=
	    strlen(argv[optind]) || !argv[optind][0]) {
		cli_error("probe push: usage: probe push ID FILE [--timeout S]");
		return 2;
	}
	if (read_file(argv[optind + 1], &text) < 0)
		goto out;
	if (gw_batch_parse(text.data ? text.data : "", text.len, &batch, err,
			   sizeof err) < 0) {
		cli_error("probe push: %s: %s", argv[optind + 1], err);
		rc = 2;
		goto out;
	}
	if (!(db = cli_db(ctx)))
		goto out;
	{
		char to[24];
		const char *p[3] = { argv[optind], text.data ? text.data : "", to };

		/* Left pending after the timeout (this command gone), the
		 * gateways expire it (vt_pushes_tidy). */
		snprintf(to, sizeof to, "%ld", timeout);
		if (vt_pg_exec(db, &res, err, sizeof err,
			       "INSERT INTO probe_pushes (probe_id, batch, expires)"
			       " VALUES ($1, $2, now() + make_interval(secs =>"
			       " $3::integer)) RETURNING id", 3, p) < 0) {
			cli_error("probe push: %s", err);
			goto out;
		}
	}
	snprintf(pid, sizeof pid, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	{
		const char *p[1] = { pid };

		if (vt_pg_exec(db, NULL, err, sizeof err,
			       "SELECT pg_notify('vantage_push', $1)", 1, p) < 0) {
			cli_error("probe push: %s", err);
			goto out;
		}
	}
	for (;;) {
		const char *p[1] = { pid };
		const char *st;

		if (vt_pg_exec(db, &res, err, sizeof err,
			       "SELECT status, coalesce(outcome, ''), coalesce(gateway,"
			       " '') FROM probe_pushes WHERE id = $1", 1, p) < 0) {
			cli_error("probe push: %s", err);
			goto out;
		}
		st = PQgetvalue(res, 0, 0);
		if (!strcmp(st, "ok") || !strcmp(st, "failed")) {
			printf("push %s to probe %s via %s: %s\n", pid, argv[optind],
			       PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 1));
			rc = !strcmp(st, "ok") ? 0 : 1;
			goto out;
		}
		PQclear(res);
		res = NULL;
		if (waited >= timeout * 1000)
			break;
		nap(100);
		waited += 100;
	}
	{
		const char *p[1] = { pid };

		vt_pg_try(db, "BEGIN");
		if (vt_pg_exec(db, NULL, err, sizeof err,
			       "UPDATE probe_pushes SET status = 'expired', finished ="
			       " now() WHERE id = $1 AND status = 'pending'", 1, p) < 0)
			cli_error("probe push: %s", err);
		vt_pg_try(db, "COMMIT");
	}
	printf("push %s to probe %s: no answer within %ld s\n", pid, argv[optind],
	       timeout);
out:
	PQclear(res);
	PQfinish(db);
	vt_dlg_batch_free(batch);
	vt_buf_free(&text);
	return rc;
}
