/* The key cache swap keeps what lookups learned meanwhile: a fresh table
 * is loaded from the probes table as it was when its load began, and is
 * swapped in later; a key a lookup found in between (a probe added after
 * the load began, answered before the swap) must still admit its probe
 * after the swap, and a stranger found unknown stays known as unknown.
 * What was learned before the load began is the table's to say. */
#include <stdlib.h>

#include "common/evloop.h"
#include "controller/gateway/auth.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/inbox.h"
#include "controller/gateway/keys.h"
#include "tests/unit/check.h"

int main(void)
{
	struct vt_loop *loop = NULL;
	struct gw_inbox *inbox = NULL;
	struct gw_dbq *q = NULL;
	struct gw_keys *old = NULL, *fresh = NULL, *k2 = NULL, *o2 = NULL;
	struct gw_auth *a = NULL;
	long id = -1;

	/* A queue whose database is nowhere: a miss is looked up there in
	 * vain, and gw_auth_key says VT_EAGAIN (refused for now). */
	CHECK(vt_loop_new(&loop) == 0);
	CHECK(gw_inbox_new(loop, &inbox) == 0);
	CHECK(gw_dbq_new("host=/nonexistent/vantage dbname=none", 0, inbox, &q) == 0);

	CHECK(gw_keys_new(&old) == 0);
	CHECK(gw_keys_put(old, "AAAA", 1) == 0);
	CHECK(gw_auth_new(q, "gw-test", old, &a) == 0);

	/* The LISTEN thread begins a load: probe 1's key is in the table. */
	CHECK(gw_keys_new(&fresh) == 0);
	CHECK(gw_keys_put(fresh, "AAAA", 1) == 0);
	/* Probe 2 is added; its first attempt missed, the lookup answers
	 * before the fresh table is swapped in.  A stranger is answered too. */
	gw_auth_learned(a, "BBBB", VT_OK, 2);
	gw_auth_learned(a, "CCCC", VT_ENOTFOUND, 0);
	CHECK(gw_auth_key(a, "BBBB", &id) == VT_OK && id == 2);
	gw_auth_adopt(a, fresh, 0);

	id = -1;
	CHECK(gw_auth_key(a, "AAAA", &id) == VT_OK && id == 1);
	id = -1;
	CHECK_INT(gw_auth_key(a, "BBBB", &id), VT_OK);   /* admitted */
	CHECK_INT(id, 2);
	CHECK_INT(gw_auth_key(a, "CCCC", &id), VT_EAUTH);

	/* Learned before the table was made: not carried (the table is
	 * newer: the key may have been removed); the table's own entries
	 * win over older knowledge. */
	CHECK(gw_keys_new(&o2) == 0);
	CHECK(gw_keys_learn(o2, "DDDD", 4, 1) == 0);
	CHECK(gw_keys_learn(o2, "AAAA", 9, 1) == 0);
	CHECK(gw_keys_new(&k2) == 0);
	CHECK(gw_keys_put(k2, "AAAA", 1) == 0);
	gw_keys_carry(k2, o2);
	CHECK_INT(gw_keys_get(k2, "DDDD", 0, &id), VT_ENOTFOUND);
	CHECK(gw_keys_get(k2, "AAAA", 0, &id) == VT_OK && id == 1);
	CHECK_INT(gw_keys_count(k2), 1);
	gw_keys_free(o2);
	gw_keys_free(k2);

	gw_dbq_free(q);           /* the vain lookups are answered ... */
	gw_inbox_free(inbox);     /* ... and their done functions run */
	gw_auth_free(a);
	vt_loop_free(loop);
	return CHECK_DONE();
}
