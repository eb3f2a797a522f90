/* api.h - vantage-api: the researcher API (API.md) over HTTP and HTTPS.
 *
 * libmicrohttpd with its internal epoll thread pool serves both listeners;
 * requests share a small PostgreSQL pool (dbpool.h).  The daemon keeps no
 * state of its own: any number may run on one database. */
#ifndef VT_API_H
#define VT_API_H

#include <stddef.h>

#include "common/err.h"

struct vt_metrics;

struct vt_api_conf {
	const char *db;            /* libpq conninfo */
	const char *http;          /* "ADDR:PORT" ("[::1]:8080", ":8080"), or NULL */
	const char *https;         /* the same for HTTPS, or NULL */
	const char *tls_cert;      /* PEM files, for https */
	const char *tls_key;
	int threads;               /* per listener */
	int db_conns;              /* pool size */
	int max_conns;             /* open connections per listener */
	int conn_timeout_s;        /* idle connection timeout */
	int stmt_ms;               /* PostgreSQL statement timeout */
	const char *objstore;      /* archive store URL (results planner), or NULL */
	int cache_ms;              /* anonymous GETs kept this long (0: never) */
	const char *db_read;       /* a streaming replica for reads, or NULL */
	int db_read_max_lag_s;     /* reads go to the primary beyond this lag */
	struct vt_metrics *metrics; /* requests counted into it (NULL: none) */
};

/* Defaults for every field but db and the listeners. */
void vt_api_conf_defaults(struct vt_api_conf *c);

struct vt_api;

/* Starts the listeners.  On failure errbuf says why. */
int vt_api_start(const struct vt_api_conf *c, struct vt_api **out,
		 char *errbuf, size_t errlen) VT_WUR;
/* Stops the listeners (waiting for their threads) and frees everything. */
/* A reload (SIGHUP): reads --tls-cert and --tls-key again; the HTTPS
 * handshakes after it get the new pair.  A pair that does not parse, a
 * key that is not the certificate's or an expired certificate is refused
 * (errbuf says why) and the old pair stays.  On success errbuf says what
 * is served ("" without --https). */
int vt_api_reload(struct vt_api *a, char *errbuf, size_t errlen) VT_WUR;
void vt_api_stop(struct vt_api *a);

#endif
