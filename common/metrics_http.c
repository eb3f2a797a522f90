/* metrics_http.c - GET /metrics over libmicrohttpd (see metrics_http.h). */
#include "common/metrics_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct vt_mhttp {
	struct MHD_Daemon *d;
	struct vt_metrics *m;
};

int vt_listen_parse(const char *s, struct sockaddr_storage *ss, int *v6)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	memset(ss, 0, sizeof *ss);
	if (!colon || (size_t)(colon - s) >= sizeof host)
		return VT_EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535 || !colon[1])
		return VT_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return VT_EINVAL;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (!host[0] || !strcmp(host, "::")) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_any;
		*v6 = 2;
		return 0;
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*v6 = 1;
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1 ? 0 : VT_EINVAL;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		*v6 = 0;
		return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : VT_EINVAL;
	}
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text),
		(void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct vt_mhttp *h = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct vt_buf b;
	size_t len;
	char *text;

	(void)version;
	(void)upload;
	if (!*con_cls) {
		/* headers read: answer once the (ignored) body is in */
		*con_cls = h;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;   /* a body is never wanted */
		return MHD_YES;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	vt_buf_init(&b, VT_METRICS_TEXT_MAX);
	if (vt_metrics_render(h->m, &b) < 0) {
		vt_buf_free(&b);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "metrics over their size cap\n");
	}
	text = vt_buf_take(&b, &len);
	if (!text)
		return MHD_NO;
	if (!(r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE))) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;   /* errors reach the caller as a failed start */
}

int vt_mhttp_start(struct vt_metrics *m, const char *addr,
		   struct vt_mhttp **out, char *errbuf, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct vt_mhttp *h;
	int v6;

	*out = NULL;
	if (!m || !addr || vt_listen_parse(addr, &ss, &v6) < 0)
		return vt_err_set(VT_EINVAL, errbuf, errlen,
				  "--metrics %s: not ADDR:PORT", addr ? addr : "");
	if (!(h = calloc(1, sizeof *h)))
		return VT_ENOMEM;
	h->m = m;
	if (v6 == 2)
		flags |= MHD_USE_DUAL_STACK;
	else if (v6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)VT_MHTTP_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)VT_MHTTP_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)VT_MHTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 16u,
		MHD_OPTION_EXTERNAL_LOGGER, quiet, NULL,
		MHD_OPTION_END);
	if (!h->d) {
		free(h);
		return vt_err_set(VT_EIO, errbuf, errlen,
				  "--metrics %s: cannot listen there", addr);
	}
	*out = h;
	return VT_OK;
}

void vt_mhttp_stop(struct vt_mhttp *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
