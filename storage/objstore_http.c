/* objstore_http.c - HTTP(S) reads with Range, and S3-compatible stores
 * signed with AWS SigV4 (libcurl). */
#include "storage/objstore_int.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_ERRBODY_MAX 512

struct getctx {
	CURL          *curl;
	struct vt_buf *out;
	size_t         start;
	uint64_t       want;     /* 0: anything */
	int            over;     /* more bytes came than wanted */
	char           errbody[HTTP_ERRBODY_MAX];
	size_t         errlen;
	char          *etag;     /* PUT: where the ETag header goes */
};

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct getctx *g = arg;
	size_t n = sz * nm;
	long code = 0;

	curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 300 || !g->out) {
		size_t room = sizeof g->errbody - 1 - g->errlen;

		if (n < room)
			room = n;
		memcpy(g->errbody + g->errlen, p, room);
		g->errlen += room;
		g->errbody[g->errlen] = '\0';
		return n;
	}
	if (g->want && n > g->want - (g->out->len - g->start)) {
		g->over = 1;
		return 0;
	}
	if (vt_buf_add(g->out, p, n) < 0) {
		g->over = 1;
		return 0;
	}
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct getctx *g = arg;
	size_t n = sz * nm;

	if (g->etag && n > 5 && !strncasecmp(p, "etag:", 5)) {
		const char *v = p + 5;
		size_t k = n - 5;

		while (k && (*v == ' ' || *v == '\t')) {
			v++;
			k--;
		}
		while (k && (v[k - 1] == '\r' || v[k - 1] == '\n' ||
			     v[k - 1] == ' '))
			k--;
		if (k >= 2 && v[0] == '"' && v[k - 1] == '"') {
			v++;
			k -= 2;
		}
		if (k >= VT_OBJ_ETAG_MAX)
			k = VT_OBJ_ETAG_MAX - 1;
		memcpy(g->etag, v, k);
		g->etag[k] = '\0';
	}
	return n;
}

int vt_obj_http_open(struct vt_objstore *s, char *errbuf, size_t errlen)
{
	if (s->kind == VT_OBJ_S3) {
		const char *ep = getenv("VANTAGE_S3_ENDPOINT");
		const char *region = getenv("VANTAGE_S3_REGION");
		const char *ak = getenv("AWS_ACCESS_KEY_ID");
		const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
		const char *bp = s->url + 5;
		size_t n;

		if (!region || !*region)
			region = "us-east-1";
		if (!*bp || *bp == '/') {
			snprintf(errbuf, errlen, "%s: no bucket", s->url);
			return VT_EINVAL;
		}
		if (!ak || !sk) {
			snprintf(errbuf, errlen, "%s: AWS_ACCESS_KEY_ID and "
				 "AWS_SECRET_ACCESS_KEY must be set", s->url);
			return VT_EAUTH;
		}
		n = (ep ? strlen(ep) : strlen(region) + 40) + strlen(bp) + 2;
		if (!(s->base = malloc(n)) || !(s->region = strdup(region)) ||
		    !(s->userpwd = malloc(strlen(ak) + strlen(sk) + 2)))
			return VT_ENOMEM;
		if (ep)
			snprintf(s->base, n, "%s/%s", ep, bp);
		else
			snprintf(s->base, n, "https://s3.%s.amazonaws.com/%s",
				 region, bp);
		n = strlen(s->base);
		while (n && s->base[n - 1] == '/')
			s->base[--n] = '\0';
		sprintf(s->userpwd, "%s:%s", ak, sk);
	}
	if (!(s->curl = curl_easy_init())) {
		snprintf(errbuf, errlen, "cannot start libcurl");
		return VT_ENOMEM;
	}
	return VT_OK;
}

void vt_obj_http_close(struct vt_objstore *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	s->curl = NULL;
}

static int sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
		return VT_ENOMEM;
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return VT_OK;
}

/* Sets the handle up for one request on key; *hdrs gets the header list. */
static int prepare(struct vt_objstore *s, const char *key, struct getctx *g,
		   const void *body, size_t blen, struct curl_slist **hdrs)
{
	CURL *c = s->curl;
	char url[4096], sigv4[128], h[128], hex[65];
	struct curl_slist *l = NULL, *t;

	if (snprintf(url, sizeof url, "%s/%s", s->base, key) >= (int)sizeof url)
		return VT_ETOOBIG;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, g);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	g->curl = c;
	if (s->kind == VT_OBJ_S3) {
		/* curl 7.88 signs x-amz-content-sha256 only when it is set by
		 * hand; S3 wants it on every request. */
		if (sha256_hex(body ? body : "", body ? blen : 0, hex) < 0)
			return VT_ENOMEM;
		snprintf(h, sizeof h, "x-amz-content-sha256: %s", hex);
		if (!(t = curl_slist_append(l, h)))
			goto nomem;
		l = t;
		snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", s->region);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
		curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
	}
	*hdrs = l;
	return VT_OK;
nomem:
	curl_slist_free_all(l);
	return VT_ENOMEM;
}

/* Copies the text of <tag>...</tag> in an S3 error body, if there. */
static void xml_text(const char *body, const char *tag, char *out, size_t len)
{
	char open[32], close[32];
	const char *a, *b;

	out[0] = '\0';
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if (!(a = strstr(body, open)))
		return;
	a += strlen(open);
	if (!(b = strstr(a, close)))
		return;
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

static int status_err(const char *url, long code, const struct getctx *g,
		      char *errbuf, size_t errlen)
{
	char scode[64], smsg[256];

	xml_text(g->errbody, "Code", scode, sizeof scode);
	xml_text(g->errbody, "Message", smsg, sizeof smsg);
	if (scode[0])
		snprintf(errbuf, errlen, "%s: HTTP %ld: %s: %s", url, code, scode,
			 smsg);
	else
		snprintf(errbuf, errlen, "%s: HTTP %ld", url, code);
	if (code == 404)
		return VT_ENOTFOUND;
	if (code == 401 || code == 403)
		return VT_EAUTH;
	if (code == 416)
		return VT_ECORRUPT;
	return VT_EPROTO;
}

int vt_obj_http_put(struct vt_objstore *s, const char *key, const void *data,
		    size_t len, char *etag, char *errbuf, size_t errlen)
{
	struct getctx g = { 0 };
	struct curl_slist *hdrs = NULL, *t;
	CURLcode cc;
	long code = 0;
	int ret;

	g.etag = etag;
	if ((ret = prepare(s, key, &g, data, len, &hdrs)) < 0)
		return ret;
	if (!(t = curl_slist_append(hdrs, "Content-Type: application/x-bzip2"))) {
		ret = VT_ENOMEM;
		goto out;
	}
	hdrs = t;
	if (!(t = curl_slist_append(hdrs, "Expect:"))) {
		ret = VT_ENOMEM;
		goto out;
	}
	hdrs = t;
	/* POSTFIELDS with a PUT verb, so libcurl hashes the body it signs. */
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	s->requests++;
	cc = curl_easy_perform(s->curl);
	if (cc != CURLE_OK) {
		snprintf(errbuf, errlen, "%s/%s: %s", s->base, key,
			 curl_easy_strerror(cc));
		ret = VT_EIO;
		goto out;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 && code != 201 && code != 204) {
		char url[4200];

		snprintf(url, sizeof url, "%s/%s", s->base, key);
		ret = status_err(url, code, &g, errbuf, errlen);
		goto out;
	}
	ret = VT_OK;
out:
	curl_slist_free_all(hdrs);
	return ret;
}

int vt_obj_http_get(struct vt_objstore *s, const char *key, uint64_t off,
		    uint64_t len, struct vt_buf *out, char *errbuf,
		    size_t errlen)
{
	struct getctx g = { 0 };
	struct curl_slist *hdrs = NULL;
	char range[64], url[4200];
	CURLcode cc;
	long code = 0;
	int ret;

	snprintf(url, sizeof url, "%s/%s", s->base, key);
	g.out = out;
	g.start = out->len;
	g.want = len;
	if ((ret = prepare(s, key, &g, NULL, 0, &hdrs)) < 0)
		return ret;
	if (off || len) {
		if (len)
			snprintf(range, sizeof range, "%llu-%llu",
				 (unsigned long long)off,
				 (unsigned long long)(off + len - 1));
		else
			snprintf(range, sizeof range, "%llu-",
				 (unsigned long long)off);
		curl_easy_setopt(s->curl, CURLOPT_RANGE, range);
	}
	if (hdrs)
		curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	s->requests++;
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (g.over) {
		snprintf(errbuf, errlen, "%s: more bytes than asked for "
			 "(server ignored Range, or over the cap)", url);
		ret = VT_EPROTO;
		goto out;
	}
	if (cc != CURLE_OK) {
		snprintf(errbuf, errlen, "%s: %s", url, curl_easy_strerror(cc));
		ret = VT_EIO;
		goto out;
	}
	if (code == 416) {
		snprintf(errbuf, errlen, "%s: object is shorter than the %llu "
			 "bytes wanted at %llu (HTTP 416)", url,
			 (unsigned long long)len, (unsigned long long)off);
		ret = VT_ECORRUPT;
		goto out;
	}
	if (code != 200 && code != 206) {
		ret = status_err(url, code, &g, errbuf, errlen);
		goto out;
	}
	if ((off || len) && code != 206) {
		snprintf(errbuf, errlen, "%s: server ignored Range", url);
		ret = VT_EPROTO;
		goto out;
	}
	if (len && out->len - g.start != len) {
		snprintf(errbuf, errlen, "%s: object is shorter than the %llu "
			 "bytes wanted at %llu (got %zu)", url,
			 (unsigned long long)len, (unsigned long long)off,
			 out->len - g.start);
		ret = VT_ECORRUPT;
		goto out;
	}
	ret = VT_OK;
out:
	if (ret < 0 && out->data) {
		out->len = g.start;
		out->data[g.start] = '\0';
	}
	curl_slist_free_all(hdrs);
	return ret;
}
