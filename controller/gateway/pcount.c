/* pcount.c - connections per probe (see pcount.h): linear probing, grown
 * at 50 % load, deletion by backward shift (no tombstones). */
#include "controller/gateway/pcount.h"

#include <stdint.h>
#include <stdlib.h>

struct slot {
	long id;      /* 0: free (probe ids are > 0) */
	int  n;
};

struct gw_pcount {
	struct slot *s;
	size_t       cap;   /* power of two */
	size_t       used;
};

static size_t home(const struct gw_pcount *pc, long id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (pc->cap - 1);
}

int gw_pcount_new(struct gw_pcount **out)
{
	struct gw_pcount *pc = calloc(1, sizeof *pc);

	*out = NULL;
	if (!pc || !(pc->s = calloc(64, sizeof *pc->s))) {
		free(pc);
		return VT_ENOMEM;
	}
	pc->cap = 64;
	*out = pc;
	return VT_OK;
}

void gw_pcount_free(struct gw_pcount *pc)
{
	if (!pc)
		return;
	free(pc->s);
	free(pc);
}

static struct slot *find(const struct gw_pcount *pc, long id)
{
	size_t i = home(pc, id);

	while (pc->s[i].id && pc->s[i].id != id)
		i = (i + 1) & (pc->cap - 1);
	return &pc->s[i];
}

int gw_pcount_get(const struct gw_pcount *pc, long id)
{
	const struct slot *e = find(pc, id);

	return e->id ? e->n : 0;
}

static int grow(struct gw_pcount *pc)
{
	struct slot *old = pc->s;
	size_t ocap = pc->cap;

	if (!(pc->s = calloc(ocap * 2, sizeof *pc->s))) {
		pc->s = old;
		return VT_ENOMEM;
	}
	pc->cap = ocap * 2;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].id)
			*find(pc, old[i].id) = old[i];
	free(old);
	return VT_OK;
}

int gw_pcount_inc(struct gw_pcount *pc, long id)
{
	struct slot *e;
	int rc;

	if (id <= 0)
		return VT_EINVAL;
	e = find(pc, id);
	if (!e->id) {
		if ((pc->used + 1) * 2 > pc->cap) {
			if ((rc = grow(pc)) < 0)
				return rc;
			e = find(pc, id);
		}
		e->id = id;
		e->n = 0;
		pc->used++;
	}
	e->n++;
	return VT_OK;
}

void gw_pcount_dec(struct gw_pcount *pc, long id)
{
	size_t i, j, k;
	struct slot *e;

	if (!pc || id <= 0 || !(e = find(pc, id))->id || --e->n > 0)
		return;
	/* Remove, then shift back the entries of the cluster behind it that
	 * would no longer be found. */
	i = (size_t)(e - pc->s);
	pc->s[i].id = 0;
	pc->used--;
	for (j = (i + 1) & (pc->cap - 1); pc->s[j].id; j = (j + 1) & (pc->cap - 1)) {
		k = home(pc, pc->s[j].id);
		/* k cyclically in (i, j]: the entry stays */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		pc->s[i] = pc->s[j];
		pc->s[j].id = 0;
		i = j;
	}
}
