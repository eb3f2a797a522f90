/* run.c - `vantage-probe --run '<command line>'`: one measurement, printed
 * as its RESULT line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/evloop.h"
#include "common/log.h"
#include "probe/measure/measure.h"
#include "probe/measure/run.h"

struct run_state {
	struct vt_loop *loop;
	int             left;
	int             produced;
};

static void on_done(void *arg, long msm_id, const char *json)
{
	struct run_state *st = arg;

	(void)msm_id;
	printf("RESULT %s\n", json);
	fflush(stdout);
	st->produced++;
	if (--st->left == 0)
		vt_loop_stop(st->loop);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: vantage-probe --run '<command line>' [--allow-private] "
		"[--count N]\n"
		"                     [--dns SERVERS] [--user USER | --no-drop]\n"
		"  --allow-private  measure loopback, private, link-local, "
		"multicast and ULA targets (labs)\n"
		"  --count N        run N copies of the measurement at once "
		"(one RESULT line each)\n"
		"  --dns SERVERS    resolve names with these servers "
		"(ip[:port],...)\n"
		"  --user USER      drop root to USER keeping CAP_NET_RAW "
		"(default nobody)\n"
		"  --no-drop        keep the privileges of the caller\n");
}

int vt_probe_run_main(int argc, char **argv)
{
	struct vt_measure_opts o = { 0 };
	struct vt_measure_ctx *ctx = NULL;
	struct run_state st = { 0 };
	const char *cmdline = NULL, *user = "nobody";
	int count = 1, drop = 1, rc, status = 2;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--run") && v) {
			cmdline = v;
			i++;
		} else if (!strcmp(a, "--allow-private")) {
			o.allow_private = 1;
		} else if (!strcmp(a, "--count") && v) {
			count = atoi(v);
			i++;
		} else if (!strcmp(a, "--dns") && v) {
			o.dns_servers = v;
			i++;
		} else if (!strcmp(a, "--user") && v) {
			user = v;
			i++;
		} else if (!strcmp(a, "--no-drop")) {
			drop = 0;
		} else if (!strcmp(a, "--no-raw")) {
			o.no_raw = 1;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	if (!cmdline || count < 1 || count > 10000) {
		usage();
		return 2;
	}
	vt_log_init("vantage-probe", VT_LOG_WARN);
	if ((rc = vt_loop_new(&st.loop)) < 0) {
		vt_err("event loop: %s", vt_strerror(rc));
		return 1;
	}
	if ((rc = vt_measure_ctx_new(st.loop, &o, &ctx)) < 0) {
		vt_err("measurement engine: %s", vt_strerror(rc));
		status = 1;
		goto out;
	}
	if (drop && (rc = vt_measure_drop_root(user)) < 0) {
		vt_err("dropping privileges to %s: %s", user, vt_strerror(rc));
		status = 1;
		goto out;
	}
	st.left = count;
	for (int i = 0; i < count; i++) {
		rc = vt_measure_start(ctx, cmdline, on_done, &st);
		if (rc < 0) {
			vt_err("%s: %s", cmdline, vt_strerror(rc));
			status = 2;
			goto out;
		}
	}
	if ((rc = vt_loop_run(st.loop)) < 0) {
		vt_err("event loop: %s", vt_strerror(rc));
		status = 1;
		goto out;
	}
	status = st.produced == count ? 0 : 1;
out:
	vt_measure_ctx_free(ctx);
	vt_loop_free(st.loop);
	return status;
}
