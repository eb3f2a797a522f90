/* cli_catchment.c - `vantage catchment MSM [--start T] [--stop T]
 * [--probe N[,M]] [--ping MSM] [--json] [--api URL]`: the anycast
 * catchment of a DNS measurement (storage/catchment.h): the per-site table
 * and every change of site, read through the planner (hot and archived
 * days), or through vantage-api when --api or $VANTAGE_API_URL is set. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "storage/catchment.h"
#include "storage/objstore.h"
#include "storage/planner.h"
#include "controller/cli/cli.h"

#define CATCH_PROBES_MAX 10000
#define CATCH_BODY_MAX   (256 * 1024 * 1024)

static PGconn *one_acquire(void *arg)
{
	return arg;
}

static void one_release(void *arg, PGconn *c)
{
	(void)arg;
	(void)c;
}

static int number(const char *s, long long *v)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return -1;
	*v = strtoll(s, NULL, 10);
	return 0;
}



static void list(FILE *f, const json_t *a, int width)
{
	char line[256] = "";
	size_t i, n = 0;
	json_t *e;

	json_array_foreach(a, i, e) {
		if (n >= sizeof line - 24)
			break;
		if (json_is_integer(e))
			n += (size_t)snprintf(line + n, sizeof line - n, "%s%lld", i ? "," : "",
					      (long long)json_integer_value(e));
		else
			n += (size_t)snprintf(line + n, sizeof line - n, "%s%.8s", i ? "," : "",
					      json_string_value(e));
	}
	fprintf(f, " %-*s", width, n ? line : "-");
}

#define JI(o, k) ((long long)json_integer_value(json_object_get((o), (k))))
#define JS(o, k) (json_string_value(json_object_get((o), (k))) ? \
		  json_string_value(json_object_get((o), (k))) : "-")

/* The per-site table, each probe's site now, and the changes. */
static void print_view(FILE *f, const json_t *v)
{
	const json_t *sites = json_object_get(v, "sites");
	int ping = json_is_integer(json_object_get(v, "ping_msm_id"));
	char a[32], b[32];
	size_t i;
	json_t *s;

	fprintf(f, "measurement %lld: %lld results, %lld naming a site, %lld without;"
		" %zu sites, %zu probes\n\n", JI(v, "msm_id"), JI(v, "results"),
		JI(v, "answered"), JI(v, "unanswered"), json_array_size(sites),
		json_array_size(json_object_get(v, "probes")));
	fprintf(f, "%-24s %6s %8s %10s %10s %-12s %-20s%s\n", "site", "probes",
		"results", "median ms", "p90 ms", "countries", "ASNs",
		ping ? "  ping median  ping p90" : "");
	json_array_foreach(sites, i, s) {
		fprintf(f, "%-24.64s %6lld %8lld %10s %10s", JS(s, "site"),
			JI(s, "probe_count"), JI(s, "results"),
			vt_catch_fmt_ms(json_object_get(s, "rtt_median"), a, sizeof a),
			vt_catch_fmt_ms(json_object_get(s, "rtt_p90"), b, sizeof b));
		list(f, json_object_get(s, "countries"), 12);
		list(f, json_object_get(s, "asns"), 20);
		if (ping)
			fprintf(f, "  %11s %9s", vt_catch_fmt_ms(json_object_get(s, "ping_median"), a, sizeof a),
				vt_catch_fmt_ms(json_object_get(s, "ping_p90"), b, sizeof b));
		fputc('\n', f);
	}
	fprintf(f, "\n%-8s %-24s %10s %-20s %-3s %-8s %7s\n", "probe", "site now",
		"rtt ms", "newest (UTC)", "cc", "asn", "changes");
	json_array_foreach(json_object_get(v, "probes"), i, s)
		fprintf(f, "%-8lld %-24.64s %10s %-20s %-3s %-8lld %7lld\n", JI(s, "prb_id"),
			JS(s, "site"), vt_catch_fmt_ms(json_object_get(s, "rtt"), a, sizeof a),
			vt_catch_fmt_time(JI(s, "timestamp"), b, sizeof b), JS(s, "country_code"),
			JI(s, "asn"), JI(s, "changes"));
	fprintf(f, "\nchanges of site: %zu%s\n", json_array_size(json_object_get(v, "changes")),
		json_is_true(json_object_get(v, "changes_truncated")) ? " (capped)" : "");
	if (json_array_size(json_object_get(v, "changes")))
		fprintf(f, "%-8s %-16s %-16s %-32s %s\n", "probe", "from", "to",
			"last result before (UTC)", "first result after (UTC)");
	json_array_foreach(json_object_get(v, "changes"), i, s)
		fprintf(f, "%-8lld %-16.64s %-16.64s %s (%lld)    %s (%lld)\n",
			JI(s, "prb_id"), JS(s, "from"), JS(s, "to"),
			vt_catch_fmt_time(JI(s, "last_before"), a, sizeof a), JI(s, "last_before"),
			vt_catch_fmt_time(JI(s, "first_after"), b, sizeof b), JI(s, "first_after"));
}

int cli_catchment(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", required_argument, NULL, 'e' },
		{ "ping", required_argument, NULL, 'g' },
		{ "store", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "api", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *api = getenv("VANTAGE_API_URL");
	const char *store_url = getenv("VANTAGE_ARCHIVE");
	const char *probes_arg = NULL;
	struct vt_catch_req q = { 0, 0, LLONG_MAX, NULL, 0, 0 };
	struct vt_objstore *store = NULL;
	struct vt_catch *cat = NULL;
	struct vt_plan_db pdb;
	struct vt_buf body;
	long long *ids = NULL;
	json_t *view = NULL;
	char err[1024];
	PGconn *db = NULL;
	int c, rc = 1, as_json = 0;

	vt_buf_init(&body, CATCH_BODY_MAX);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': probes_arg = optarg; break;
		case 's':
		case 'e':
		case 'g':
			if (number(optarg, c == 's' ? &q.start : c == 'e' ? &q.stop :
				   &q.ping_msm) < 0) {
				cli_error("catchment: --%s wants a number", c == 's' ?
					  "start" : c == 'e' ? "stop" : "ping");
				rc = 2;
				goto out;
			}
			break;
		case 'o': store_url = optarg; break;
		case 'j': as_json = 1; break;
		case 'a': api = optarg; break;
		default: rc = 2; goto out;
		}
	}
	if (optind + 1 != argc || number(argv[optind], &q.msm_id) < 0 || q.msm_id <= 0 ||
	    (probes_arg && (strspn(probes_arg, "0123456789,") != strlen(probes_arg) ||
			    strlen(probes_arg) > 2048))) {
		cli_error("catchment: usage: vantage catchment MSM_ID [--start T] [--stop T]"
			  " [--probe N[,M]] [--ping MSM] [--json] [--api URL]");
		rc = 2;
		goto out;
	}
	if (api && *api) {
		char pathq[4096];
		int n = snprintf(pathq, sizeof pathq, "api/v2/measurements/%lld/catchment/"
				 "?start=%lld", q.msm_id, q.start);

		if (q.stop != LLONG_MAX)
			n += snprintf(pathq + n, sizeof pathq - (size_t)n, "&stop=%lld", q.stop);
		if (q.ping_msm)
			n += snprintf(pathq + n, sizeof pathq - (size_t)n, "&ping=%lld",
				      q.ping_msm);
		if (probes_arg)
			snprintf(pathq + n, sizeof pathq - (size_t)n, "&probe_ids=%s", probes_arg);
		if (cli_api_get_buf(api, pathq, &body) != 0)
			goto out;
		if (!(view = json_loadb(body.data ? body.data : "", body.len, 0, NULL))) {
			cli_error("catchment: the API's answer is not JSON");
			goto out;
		}
	} else {
		if (probes_arg) {
			char *save = NULL, *t, *copy = strdup(probes_arg);

			if (!copy || !(ids = calloc(CATCH_PROBES_MAX, sizeof *ids))) {
				free(copy);
				cli_error("catchment: out of memory");
				goto out;
			}
			for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (q.nprobes < CATCH_PROBES_MAX &&
				    number(t, &ids[q.nprobes]) == 0 && ids[q.nprobes] > 0 &&
				    ids[q.nprobes] <= INT_MAX)
					q.nprobes++;
			free(copy);
			q.probes = ids;
		}
		if (store_url && *store_url &&
		    vt_objstore_open(store_url, &store, err, sizeof err) < 0) {
			cli_error("catchment: store: %s", err);
			goto out;
		}
		if (!(db = cli_db_read(ctx)))
			goto out;
		pdb.acquire = one_acquire;
		pdb.release = one_release;
		pdb.arg = db;
		/* Nothing is printed before the view is whole: what the
		 * replica cannot answer (a measurement it lacks yet) is asked
		 * of the primary. */
		while (vt_catch_read(&cat, &pdb, store, &q, err, sizeof err) < 0) {
			vt_catch_free(cat);
			cat = NULL;
			if (cli_db_read_again(ctx, &db)) {
				pdb.arg = db;
				continue;
			}
			cli_error("catchment: %s", err);
			goto out;
		}
		if (!(view = vt_catch_json(cat))) {
			cli_error("catchment: out of memory");
			goto out;
		}
	}
	if (as_json) {
		if (json_dumpf(view, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0 ||
		    putchar('\n') == EOF)
			goto out;
	} else
		print_view(stdout, view);
	rc = fflush(stdout) == EOF ? 1 : 0;
out:
	json_decref(view);
	vt_catch_free(cat);
	vt_objstore_free(store);
	PQfinish(db);
	vt_buf_free(&body);
	free(ids);
	return rc;
}
