/* park.c - accepted connections waiting for the handshake limit (see
 * park.h): a ring of entries that doubles when full. */
#include "controller/gateway/park.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gw_park {
	struct gw_parked *ring;
	int               cap, head, n;
};

int gw_park_new(struct gw_park **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? VT_OK : VT_ENOMEM;
}

void gw_park_free(struct gw_park *pk)
{
	struct gw_parked c;

	if (!pk)
		return;
	while (gw_park_pop(pk, &c))
		close(c.fd);
	free(pk->ring);
	free(pk);
}

int gw_park_push(struct gw_park *pk, const struct gw_parked *c)
{
	if (pk->n == pk->cap) {
		int cap = pk->cap ? pk->cap * 2 : 64;
		struct gw_parked *r = calloc((size_t)cap, sizeof *r);

		if (!r)
			return VT_ENOMEM;
		for (int i = 0; i < pk->n; i++)
			r[i] = pk->ring[(pk->head + i) % pk->cap];
		free(pk->ring);
		pk->ring = r;
		pk->cap = cap;
		pk->head = 0;
	}
	pk->ring[(pk->head + pk->n) % pk->cap] = *c;
	pk->n++;
	return VT_OK;
}

int gw_park_pop(struct gw_park *pk, struct gw_parked *c)
{
	if (pk->n == 0)
		return 0;
	*c = pk->ring[pk->head];
	pk->head = (pk->head + 1) % pk->cap;
	pk->n--;
	return 1;
}

int gw_park_count(const struct gw_park *pk)
{
	return pk->n;
}

int64_t gw_park_oldest(const struct gw_park *pk)
{
	return pk->n ? pk->ring[pk->head].at : -1;
}
