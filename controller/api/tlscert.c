/* tlscert.c - the HTTPS certificate and key, replaced on reload (see
 * tlscert.h). */
#include "controller/api/tlscert.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <gnutls/x509.h>

#define PEM_MAX    (1 << 20)   /* a certificate chain or a key file */
#define CHAIN_MAX  16

/* One pair, as GnuTLS serves it. */
struct pair {
	gnutls_pcert_st pcert[CHAIN_MAX];
	unsigned npcert;
	gnutls_privkey_t key;
	struct pair *older;    /* replaced ones, kept until api_tls_free */
};

struct api_tls {
	char *cert_path, *key_path;
	pthread_mutex_t mu;    /* guards cur */
	struct pair *cur;
};

/* The set the callback serves (one per process). */
static struct api_tls *the_tls;

static void pair_free(struct pair *p)
{
	while (p) {
		struct pair *older = p->older;

		for (unsigned i = 0; i < p->npcert; i++)
			gnutls_pcert_deinit(&p->pcert[i]);
		if (p->key)
			gnutls_privkey_deinit(p->key);
		free(p);
		p = older;
	}
}

static int load(const char *path, gnutls_datum_t *d, char *errbuf,
		size_t errlen)
{
	struct stat st;
	int r;

	d->data = NULL;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return vt_err_set(VT_EIO, errbuf, errlen, "%s: not a readable "
				  "file", path);
	if (st.st_size > PEM_MAX)
		return vt_err_set(VT_ETOOBIG, errbuf, errlen, "%s: over %d bytes",
				  path, PEM_MAX);
	if ((r = gnutls_load_file(path, d)) < 0)
		return vt_err_set(VT_EIO, errbuf, errlen, "%s: %s", path,
				  gnutls_strerror(r));
	return VT_OK;
}

/* The first certificate's expiry, or an error. */
static int check_expiry(const gnutls_datum_t *der, const char *path,
			char *errbuf, size_t errlen)
{
	gnutls_x509_crt_t crt;
	time_t until;
	int r;

	if (gnutls_x509_crt_init(&crt) < 0)
		return vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
	r = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER);
	until = r < 0 ? 0 : gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	if (r < 0)
		return vt_err_set(VT_EPARSE, errbuf, errlen, "%s: %s", path,
				  gnutls_strerror(r));
	if (until != (time_t)-1 && until < time(NULL))
		return vt_err_set(VT_EINVAL, errbuf, errlen, "%s: the certificate "
				  "has expired", path);
	return VT_OK;
}

/* Reads both files into a new pair, checked. */
static int pair_read(const struct api_tls *t, struct pair **out,
		     char *errbuf, size_t errlen)
{
	gnutls_datum_t cert = { NULL, 0 }, key = { NULL, 0 };
	gnutls_certificate_credentials_t cred = NULL;
	struct pair *p = calloc(1, sizeof *p);
	int r;

	*out = NULL;
	if (!p)
		return vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
	if ((r = load(t->cert_path, &cert, errbuf, errlen)) < 0 ||
	    (r = load(t->key_path, &key, errbuf, errlen)) < 0)
		goto out;
	/* GnuTLS's own check that the key is the certificate's. */
	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		r = vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
		goto out;
	}
	if ((r = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key,
						       GNUTLS_X509_FMT_PEM,
						       NULL, 0)) < 0) {
		r = vt_err_set(VT_EPARSE, errbuf, errlen, "%s, %s: %s",
			       t->cert_path, t->key_path, gnutls_strerror(r));
		goto out;
	}
	p->npcert = CHAIN_MAX;
	if ((r = gnutls_pcert_list_import_x509_raw(p->pcert, &p->npcert, &cert,
						    GNUTLS_X509_FMT_PEM, 0)) < 0) {
		p->npcert = 0;
		r = vt_err_set(VT_EPARSE, errbuf, errlen, "%s: %s (at most %d "
			       "certificates)", t->cert_path, gnutls_strerror(r),
			       CHAIN_MAX);
		goto out;
	}
	if ((r = check_expiry(&p->pcert[0].cert, t->cert_path, errbuf,
			      errlen)) < 0)
		goto out;
	if (gnutls_privkey_init(&p->key) < 0) {
		r = vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
		goto out;
	}
	if ((r = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM,
						NULL, 0)) < 0) {
		r = vt_err_set(VT_EPARSE, errbuf, errlen, "%s: %s", t->key_path,
			       gnutls_strerror(r));
		goto out;
	}
	*out = p;
	p = NULL;
	r = VT_OK;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (key.data) {
		memset(key.data, 0, key.size);
		gnutls_free(key.data);
	}
	gnutls_free(cert.data);
	pair_free(p);
	return r;
}

int api_tls_new(const char *cert, const char *key, struct api_tls **out,
		char *errbuf, size_t errlen)
{
	struct api_tls *t = NULL;
	int r;

	*out = NULL;
	if (the_tls)
		return vt_err_set(VT_EINVAL, errbuf, errlen, "one TLS set only");
	if (!(t = calloc(1, sizeof *t)))
		return vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
	pthread_mutex_init(&t->mu, NULL);
	if (!(t->cert_path = strdup(cert)) || !(t->key_path = strdup(key))) {
		r = vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
		goto out;
	}
	if ((r = pair_read(t, &t->cur, errbuf, errlen)) < 0)
		goto out;
	the_tls = t;
	*out = t;
	t = NULL;
out:
	api_tls_free(t);
	return r;
}

int api_tls_reload(struct api_tls *t, char *errbuf, size_t errlen)
{
	struct pair *p;
	int r;

	if ((r = pair_read(t, &p, errbuf, errlen)) < 0)
		return r;
	pthread_mutex_lock(&t->mu);
	p->older = t->cur;
	t->cur = p;
	pthread_mutex_unlock(&t->mu);
	snprintf(errbuf, errlen, "%s (%u certificate(s)) and %s", t->cert_path,
		 p->npcert, t->key_path);
	return VT_OK;
}

void api_tls_free(struct api_tls *t)
{
	if (!t)
		return;
	if (the_tls == t)
		the_tls = NULL;
	pthread_mutex_destroy(&t->mu);
	pair_free(t->cur);
	free(t->cert_path);
	free(t->key_path);
	free(t);
}

int api_tls_retrieve(gnutls_session_t s, const gnutls_datum_t *req_ca_dn,
		     int nreqs, const gnutls_pk_algorithm_t *pk_algos,
		     int pk_algos_length, gnutls_pcert_st **pcert,
		     unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct api_tls *t = the_tls;

	(void)s;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!t)
		return -1;
	pthread_mutex_lock(&t->mu);
	*pcert = t->cur->pcert;
	*pcert_length = t->cur->npcert;
	*pkey = t->cur->key;
	pthread_mutex_unlock(&t->mu);
	return 0;
}
