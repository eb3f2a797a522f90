/* tlscert.h - the HTTPS listener's certificate and key, replaced on a
 * reload (SIGHUP) without closing the listener.
 *
 * libmicrohttpd asks GnuTLS for them at each handshake through
 * api_tls_retrieve (MHD_OPTION_HTTPS_CERT_CALLBACK): a handshake after
 * api_tls_reload() gets the new pair, one before it keeps the old.  A
 * pair is taken only when both files parse, the key is the certificate's
 * and the certificate has not expired; else the one served stays.  The
 * pairs replaced stay in memory until api_tls_free (a handshake may still
 * use one; a reload is an operator's act, a few KB each).  One set per
 * process (the callback has no argument of its own). */
#ifndef VT_API_TLSCERT_H
#define VT_API_TLSCERT_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "common/err.h"

struct api_tls;

/* Reads the PEM files cert (the certificate, then its chain) and key.
 * One api_tls per process: VT_EINVAL when there is one already. */
int api_tls_new(const char *cert, const char *key, struct api_tls **out,
		char *errbuf, size_t errlen) VT_WUR;
/* Reads the files again; on success errbuf says what is served now. */
int api_tls_reload(struct api_tls *t, char *errbuf, size_t errlen) VT_WUR;
void api_tls_free(struct api_tls *t);

/* GnuTLS's certificate_retrieve_function2, for MHD. */
int api_tls_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
		     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
		     int pk_algos_length, gnutls_pcert_st **pcert,
		     unsigned int *pcert_length, gnutls_privkey_t *pkey);

#endif
