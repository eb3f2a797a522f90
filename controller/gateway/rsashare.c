/* rsashare.c - one signing state per RSA host key (see rsashare.h). */
/* RSA_METHOD is deprecated in OpenSSL 3, which has no other way into the
 * private operation of a key its default provider holds. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "controller/gateway/rsashare.h"

#include <pthread.h>
#include <stdlib.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>

#define KEYS_MAX 4

struct gw_rsashare {
	RSA_METHOD       *meth;
	const RSA_METHOD *prev;              /* the default before */
	pthread_mutex_t   mu;                /* adding to keys */
	RSA              *keys[KEYS_MAX];    /* each set once, then read-only */
	int               nkeys;             /* atomic: published entries */
	unsigned long     all, shared;       /* atomic counters */
};

typedef int (*priv_enc_fn)(int flen, const unsigned char *from,
			   unsigned char *to, RSA *rsa, int padding);

static int same_key(const RSA *a, const RSA *b)
{
	const BIGNUM *na = NULL, *ea = NULL, *nb = NULL, *eb = NULL;

	RSA_get0_key(a, &na, &ea, NULL);
	RSA_get0_key(b, &nb, &eb, NULL);
	return na && ea && nb && eb && BN_cmp(na, nb) == 0 && BN_cmp(ea, eb) == 0;
}

/* The kept copy of rsa's key, made at its first use; NULL: use rsa. */
static RSA *kept(struct gw_rsashare *r, RSA *rsa)
{
	int n = __atomic_load_n(&r->nkeys, __ATOMIC_ACQUIRE);
	const BIGNUM *p = NULL, *q = NULL;
	RSA *found = NULL, *copy;

	for (int i = 0; i < n; i++)
		if (same_key(r->keys[i], rsa))
			return r->keys[i];
	RSA_get0_factors(rsa, &p, &q);
	if (!p || !q)
		return NULL;   /* no CRT values: nothing worth keeping */
	pthread_mutex_lock(&r->mu);
	for (int i = n; i < r->nkeys && !found; i++)
		if (same_key(r->keys[i], rsa))
			found = r->keys[i];
	if (!found && r->nkeys < KEYS_MAX && (copy = RSAPrivateKey_dup(rsa))) {
		/* OpenSSL's own method: its operations never come back here */
		if (RSA_set_method(copy, RSA_PKCS1_OpenSSL()) == 1) {
			r->keys[r->nkeys] = copy;
			__atomic_store_n(&r->nkeys, r->nkeys + 1, __ATOMIC_RELEASE);
			found = copy;
		} else {
			RSA_free(copy);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return found;
}

static int priv_enc(int flen, const unsigned char *from, unsigned char *to,
		    RSA *rsa, int padding)
{
	struct gw_rsashare *r = RSA_meth_get0_app_data(RSA_get_method(rsa));
	priv_enc_fn own = RSA_meth_get_priv_enc(RSA_PKCS1_OpenSSL());
	RSA *k = r ? kept(r, rsa) : NULL;

	if (r) {
		__atomic_add_fetch(&r->all, 1, __ATOMIC_RELAXED);
		if (k)
			__atomic_add_fetch(&r->shared, 1, __ATOMIC_RELAXED);
	}
	return own(flen, from, to, k ? k : rsa, padding);
}

int gw_rsashare_new(struct gw_rsashare **out)
{
	struct gw_rsashare *r = calloc(1, sizeof *r);

	*out = NULL;
	if (!r)
		return VT_ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	r->prev = RSA_get_default_method();
	if (!(r->meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) ||
	    RSA_meth_set1_name(r->meth, "vantage shared host key") != 1 ||
	    RSA_meth_set0_app_data(r->meth, r) != 1 ||
	    RSA_meth_set_priv_enc(r->meth, priv_enc) != 1) {
		RSA_meth_free(r->meth);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return VT_ENOMEM;
	}
	RSA_set_default_method(r->meth);
	*out = r;
	return VT_OK;
}

void gw_rsashare_counts(const struct gw_rsashare *r, unsigned long *all,
			unsigned long *shared)
{
	*all = r ? __atomic_load_n(&r->all, __ATOMIC_RELAXED) : 0;
	*shared = r ? __atomic_load_n(&r->shared, __ATOMIC_RELAXED) : 0;
}

void gw_rsashare_free(struct gw_rsashare *r)
{
	if (!r)
		return;
	if (RSA_get_default_method() == r->meth)
		RSA_set_default_method(r->prev);
	for (int i = 0; i < r->nkeys; i++)
		RSA_free(r->keys[i]);
	RSA_meth_free(r->meth);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
