/* test_metrics.c - the metrics registry and its text exposition
 * (common/metrics.h), and the listen address parser (metrics_http.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/metrics_http.h"
#include "tests/unit/check.h"

static char *render(struct vt_metrics *m)
{
	struct vt_buf b;
	size_t len;

	vt_buf_init(&b, 0);
	if (vt_metrics_render(m, &b) < 0) {
		vt_buf_free(&b);
		return NULL;
	}
	return vt_buf_take(&b, &len);
}

static void test_text(void)
{
	static const double bounds[] = { 0.5, 1, 2.5 };
	struct vt_metrics *m = NULL;
	struct vt_mfamily *c, *g, *h;
	char *t;

	CHECK(vt_metrics_new(&m) == 0);
	c = vt_metrics_counter(m, "x_requests_total", "Requests, by \\ and\nlines.",
			       "code,path");
	g = vt_metrics_gauge(m, "x_depth", "Depth.", NULL);
	h = vt_metrics_histogram(m, "x_seconds", "Latency.", "lane", bounds, 3);
	CHECK(c && g && h);
	vt_metrics_add(vt_metrics_series(c, "200", "/a\"b\\c\nd"), 3);
	vt_metrics_add(vt_metrics_series(c, "200", "/a\"b\\c\nd"), 2);
	vt_metrics_add(vt_metrics_series(c, "404", "/"), 1);
	vt_metrics_add(vt_metrics_series(c, "404", "/"), -5);   /* ignored */
	vt_metrics_set(vt_metrics_series(g), 7.25);
	vt_metrics_add(vt_metrics_series(g), -1);
	vt_metrics_observe(vt_metrics_series(h, "sink"), 0.5);
	vt_metrics_observe(vt_metrics_series(h, "sink"), 0.75);
	vt_metrics_observe(vt_metrics_series(h, "sink"), 100);
	t = render(m);
	CHECK_STR(t,
		"# HELP x_requests_total Requests, by \\\\ and\\nlines.\n"
		"# TYPE x_requests_total counter\n"
		"x_requests_total{code=\"200\",path=\"/a\\\"b\\\\c\\nd\"} 5\n"
		"x_requests_total{code=\"404\",path=\"/\"} 1\n"
		"# HELP x_depth Depth.\n"
		"# TYPE x_depth gauge\n"
		"x_depth 6.25\n"
		"# HELP x_seconds Latency.\n"
		"# TYPE x_seconds histogram\n"
		"x_seconds_bucket{lane=\"sink\",le=\"0.5\"} 1\n"
		"x_seconds_bucket{lane=\"sink\",le=\"1\"} 2\n"
		"x_seconds_bucket{lane=\"sink\",le=\"2.5\"} 2\n"
		"x_seconds_bucket{lane=\"sink\",le=\"+Inf\"} 3\n"
		"x_seconds_sum{lane=\"sink\"} 101.25\n"
		"x_seconds_count{lane=\"sink\"} 3\n");
	free(t);
	/* the same name again: the same family, or NULL when it disagrees */
	CHECK(vt_metrics_counter(m, "x_requests_total", "", "code,path") == c);
	CHECK(vt_metrics_counter(m, "x_requests_total", "", "code") == NULL);
	CHECK(vt_metrics_gauge(m, "x_requests_total", "", "code,path") == NULL);
	/* bad names and labels */
	CHECK(vt_metrics_counter(m, "9x", "", NULL) == NULL);
	CHECK(vt_metrics_counter(m, "a-b", "", NULL) == NULL);
	CHECK(vt_metrics_counter(m, "y_total", "", "__x") == NULL);
	CHECK(vt_metrics_counter(m, "y_total", "", "a,b,c,d") == NULL);
	CHECK(vt_metrics_histogram(m, "z", "", "le", bounds, 3) == NULL);
	CHECK(vt_metrics_histogram(m, "z", "", NULL, (const double[]){ 2, 1 }, 2) == NULL);
	/* NULL everywhere costs nothing */
	vt_metrics_add(NULL, 1);
	vt_metrics_observe(vt_metrics_series(NULL), 1);
	CHECK(vt_metrics_counter(NULL, "a_total", "", NULL) == NULL);
	vt_metrics_free(m);
}

static void test_cap(void)
{
	struct vt_metrics *m = NULL;
	struct vt_mfamily *f;
	char v[16];
	int made = 0;

	CHECK(vt_metrics_new(&m) == 0);
	f = vt_metrics_counter(m, "c_total", "", "id");
	for (int i = 0; i < VT_METRICS_SERIES_MAX + 10; i++) {
		snprintf(v, sizeof v, "%d", i);
		made += vt_metrics_series(f, v) != NULL;
	}
	CHECK_INT(made, VT_METRICS_SERIES_MAX);
	/* an existing one is still found */
	CHECK(vt_metrics_series(f, "3") != NULL);
	vt_metrics_free(m);
}

struct th {
	struct vt_mseries *c, *h;
};

static void *adder(void *arg)
{
	struct th *t = arg;

	for (int i = 0; i < 100000; i++) {
		vt_metrics_add(t->c, 1);
		vt_metrics_observe(t->h, 0.001);
	}
	return NULL;
}

/* Four threads count into one series: nothing is lost. */
static void test_threads(void)
{
	struct vt_metrics *m = NULL;
	struct th t;
	pthread_t th[4];
	char *text;

	CHECK(vt_metrics_new(&m) == 0);
	t.c = vt_metrics_series(vt_metrics_counter(m, "n_total", "", NULL));
	t.h = vt_metrics_series(vt_metrics_histogram(m, "n_seconds", "", NULL,
		vt_metrics_latency_bounds, vt_metrics_latency_nbounds));
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, adder, &t);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(vt_metrics_value(t.c) == 400000);
	text = render(m);
	CHECK(text && strstr(text, "n_seconds_count 400000\n"));
	CHECK(text && strstr(text, "n_seconds_bucket{le=\"0.001\"} 400000\n"));
	free(text);
	vt_metrics_free(m);
}

static int collected;

static void collect(void *arg)
{
	collected++;
	vt_metrics_set(arg, 42);
}

static void test_collect_and_file(void)
{
	struct vt_metrics *m = NULL;
	struct vt_mseries *s;
	char dir[] = "/tmp/vantage-test-metrics.XXXXXX", path[256], err[256];
	char buf[256] = "";
	FILE *f;

	CHECK(vt_metrics_new(&m) == 0);
	s = vt_metrics_series(vt_metrics_gauge(m, "q_depth", "Queue.", NULL));
	CHECK(vt_metrics_on_collect(m, collect, s) == 0);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/x.prom", dir);
	CHECK(vt_metrics_write_file(m, path, err, sizeof err) == 0);
	CHECK_INT(collected, 1);
	if ((f = fopen(path, "r"))) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);

		buf[n] = '\0';
		fclose(f);
	}
	CHECK_STR(buf, "# HELP q_depth Queue.\n# TYPE q_depth gauge\nq_depth 42\n");
	snprintf(path, sizeof path, "%s/no/such/x.prom", dir);
	CHECK(vt_metrics_write_file(m, path, err, sizeof err) == VT_EIO);
	CHECK(strstr(err, "no/such") != NULL);
	snprintf(path, sizeof path, "%s/x.prom", dir);
	unlink(path);
	rmdir(dir);
	vt_metrics_free(m);
}

static void test_listen_parse(void)
{
	struct sockaddr_storage ss;
	int v6 = -1;

	CHECK(vt_listen_parse("127.0.0.1:9100", &ss, &v6) == 0 && v6 == 0 &&
	      ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9100);
	CHECK(vt_listen_parse("[::1]:9100", &ss, &v6) == 0 && v6 == 1);
	CHECK(vt_listen_parse(":9100", &ss, &v6) == 0 && v6 == 2);
	CHECK(vt_listen_parse("127.0.0.1", &ss, &v6) < 0);
	CHECK(vt_listen_parse("127.0.0.1:", &ss, &v6) < 0);
	CHECK(vt_listen_parse("127.0.0.1:70000", &ss, &v6) < 0);
	CHECK(vt_listen_parse("127.0.0.1:9x", &ss, &v6) < 0);
	CHECK(vt_listen_parse("example.org:80", &ss, &v6) < 0);
	CHECK(vt_listen_parse("[::1:80", &ss, &v6) < 0);
}

int main(void)
{
	test_text();
	test_cap();
	test_threads();
	test_collect_and_file();
	test_listen_parse();
	return CHECK_DONE();
}
