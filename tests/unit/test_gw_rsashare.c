/* The RSA host key's shared signing state (rsashare.h): keys made afresh
 * for every signature, as libssh makes one per session, sign with the
 * kept copy, and the signatures are the bytes OpenSSL's own method gives;
 * from several threads at once too; a key without CRT values, and keys
 * beyond the kept ones, sign as they are; freeing puts OpenSSL's method
 * back. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <pthread.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "controller/gateway/rsashare.h"
#include "tests/unit/check.h"

#define NTHREADS 3
#define PER_THREAD 20

static const unsigned char msg[] = "exchange hash";

/* A key object of its own holding pk's key (what libssh's copy of the
 * bind's key amounts to): made through the provider, as a session's. */
static EVP_PKEY *fresh(EVP_PKEY *pk)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *p = NULL;
	EVP_PKEY *k = NULL;

	if (c && EVP_PKEY_todata(pk, EVP_PKEY_KEYPAIR, &p) == 1 &&
	    EVP_PKEY_fromdata_init(c) == 1)
		(void)EVP_PKEY_fromdata(c, &k, EVP_PKEY_KEYPAIR, p);
	OSSL_PARAM_free(p);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* rsa-sha2-512 over msg; its length, 0 on failure. */
static size_t sign(EVP_PKEY *k, unsigned char *sig, size_t cap)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t len = cap;

	if (!m || EVP_DigestSignInit(m, NULL, EVP_sha512(), NULL, k) != 1 ||
	    EVP_DigestSign(m, sig, &len, msg, sizeof msg) != 1)
		len = 0;
	EVP_MD_CTX_free(m);
	return len;
}

struct job {
	EVP_PKEY      *pk;
	unsigned char *want;
	size_t         wlen;
	int            same;
};

static void *signer(void *arg)
{
	struct job *j = arg;
	unsigned char sig[512];

	for (int i = 0; i < PER_THREAD; i++) {
		EVP_PKEY *k = fresh(j->pk);
		size_t n = k ? sign(k, sig, sizeof sig) : 0;

		j->same += n == j->wlen && memcmp(sig, j->want, n) == 0;
		EVP_PKEY_free(k);
	}
	return NULL;
}

int main(void)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048), *other = EVP_RSA_gen(1024), *k;
	unsigned char want[512], sig[512];
	struct job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	struct gw_rsashare *r = NULL;
	unsigned long all, shared;
	size_t wlen;
	int same = 0;

	CHECK(pk != NULL && other != NULL);
	wlen = sign(pk, want, sizeof want);   /* OpenSSL's own method */
	CHECK(wlen == 256);

	CHECK(gw_rsashare_new(&r) == 0);
	for (int i = 0; i < 5; i++) {
		size_t n;

		k = fresh(pk);
		n = k ? sign(k, sig, sizeof sig) : 0;
		same += n == wlen && memcmp(sig, want, n) == 0;
		EVP_PKEY_free(k);
	}
	CHECK_INT(same, 5);
	gw_rsashare_counts(r, &all, &shared);
	CHECK_INT(all, 5);
	CHECK_INT(shared, 5);   /* the first made the copy and used it */

	for (int i = 0; i < NTHREADS; i++) {
		jobs[i] = (struct job){ .pk = pk, .want = want, .wlen = wlen };
		CHECK(pthread_create(&th[i], NULL, signer, &jobs[i]) == 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(jobs[i].same, PER_THREAD);
	}
	gw_rsashare_counts(r, &all, &shared);
	CHECK_INT(shared, 5 + NTHREADS * PER_THREAD);

	/* Another key is kept apart and signs right. */
	{
		unsigned char w2[256], s2[256];
		size_t n2 = sign(other, w2, sizeof w2);

		k = fresh(other);
		CHECK(n2 == 128 && k && sign(k, s2, sizeof s2) == n2 &&
		      memcmp(s2, w2, n2) == 0);
		EVP_PKEY_free(k);
	}
	gw_rsashare_free(r);
	CHECK(RSA_get_default_method() == RSA_PKCS1_OpenSSL());
	k = fresh(pk);
	CHECK(k && sign(k, sig, sizeof sig) == wlen && memcmp(sig, want, wlen) == 0);
	EVP_PKEY_free(k);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(other);
	return CHECK_DONE();
}
