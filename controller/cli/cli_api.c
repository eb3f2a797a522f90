/* cli_api.c - researcher commands through vantage-api (libcurl):
 * `vantage results --api` and `vantage latest`. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "controller/cli/cli.h"

struct sink {
	long status;
	CURL *h;
	struct vt_buf err;     /* body of a refusal */
	struct vt_buf *body;   /* NULL: the body goes to stdout */
	size_t out;
};

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	struct sink *s = cls;
	size_t len = size * n;

	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status >= 300) {
		if (vt_buf_add(&s->err, p, len) < 0)
			return 0;
		return len;
	}
	s->out += len;
	if (s->body)
		return vt_buf_add(s->body, p, len) < 0 ? 0 : len;
	return fwrite(p, 1, len, stdout) == len ? len : 0;
}

/* GETs base + pathq (the key from $VANTAGE_API_KEY as a header) and
 * writes the body to stdout, or into body when not NULL.  A refusal prints
 * the error object's detail. */
static int api_get(const char *base, const char *pathq, struct vt_buf *body)
{
	const char *key = getenv("VANTAGE_API_KEY");
	const char *ca = getenv("VANTAGE_API_CA");
	struct curl_slist *hdr = NULL;
	struct sink s = { 0 };
	char url[4096], auth[128], errbuf[CURL_ERROR_SIZE] = "";
	CURLcode cc;
	int rc = 1;

	snprintf(url, sizeof url, "%s%s%s", base,
		 base[0] && base[strlen(base) - 1] == '/' ? "" : "/", pathq);
	vt_buf_init(&s.err, 65536);
	s.body = body;
	if (!(s.h = curl_easy_init())) {
		cli_error("curl: cannot start");
		return 1;
	}
	if (key && *key) {
		snprintf(auth, sizeof auth, "Authorization: Key %s", key);
		hdr = curl_slist_append(hdr, auth);
	}
	curl_easy_setopt(s.h, CURLOPT_URL, url);
	curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(s.h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s.h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(s.h, CURLOPT_USERAGENT, "vantage-cli");
	if (ca && *ca)
		curl_easy_setopt(s.h, CURLOPT_CAINFO, ca);
	cc = curl_easy_perform(s.h);
	if (!s.status)
		curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &s.status);
	if (cc != CURLE_OK) {
		cli_error("%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (s.status >= 300) {
		json_t *j = json_loadb(s.err.data ? s.err.data : "", s.err.len, 0, NULL);
		const char *d = json_string_value(json_object_get(
			json_object_get(j, "error"), "detail"));

		cli_error("%s: HTTP %ld: %s", url, s.status, d ? d : "(no detail)");
		json_decref(j);
	} else {
		rc = 0;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(s.h);
	vt_buf_free(&s.err);
	return rc;
}

int cli_api_get(const char *base, const char *pathq)
{
	return api_get(base, pathq, NULL);
}

int cli_api_get_buf(const char *base, const char *pathq, struct vt_buf *body)
{
	return api_get(base, pathq, body);
}

int cli_latest(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	const char *api = getenv("VANTAGE_API_URL"), *probe = NULL, *msm = NULL;
	char pathq[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--api") && i + 1 < argc)
			api = argv[++i];
		else if (!strcmp(argv[i], "--probe") && i + 1 < argc)
			probe = argv[++i];
		else if (argv[i][0] != '-' && !msm)
			msm = argv[i];
		else {
			cli_error("latest: usage: vantage latest MSM_ID [--probe N[,M]] "
				  "[--api URL]");
			return 2;
		}
	}
	if (!msm || strspn(msm, "0123456789") != strlen(msm) ||
	    (probe && strspn(probe, "0123456789,") != strlen(probe))) {
		cli_error("latest: usage: vantage latest MSM_ID [--probe N[,M]] [--api URL]");
		return 2;
	}
	if (!api || !*api) {
		cli_error("latest: needs the API: --api URL or VANTAGE_API_URL");
		return 2;
	}
	snprintf(pathq, sizeof pathq, "api/v2/measurements/%s/latest/?format=txt%s%s",
		 msm, probe ? "&probe_ids=" : "", probe ? probe : "");
	return cli_api_get(api, pathq);
}
