/* fuzz_stream_msg.c - the live stream's wire formats (proto/stream.h): the
 * input as a client's frame and as a NOTIFY vantage_stream payload.  A
 * frame that parses is answered with atlas_subscribed whose parameters
 * parse back to the same subscription; a payload that parses has sane
 * ranges and builds back into payloads naming the same rows. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void frame(const uint8_t *data, size_t size)
{
	struct vt_stream_msg m, m2;
	struct vt_buf b, c;
	char err[192];

	vt_buf_init(&b, 0);
	vt_buf_init(&c, 0);
	if (vt_stream_msg_parse((const char *)data, size, &m, err, sizeof err) < 0) {
		if (!err[0] || vt_stream_fmt_error(&b, err) < 0)
			abort();
		goto out;
	}
	if (m.msm <= 0 || m.prb < 0)
		abort();
	/* the reply's parameters, sent back as a subscription */
	if (vt_stream_fmt_subscribed(&b, &m) < 0 ||
	    vt_buf_adds(&c, "[\"atlas_subscribe\",") < 0 ||
	    vt_buf_add(&c, strchr(b.data, '{'), strlen(strchr(b.data, '{')) - 1) < 0 ||
	    vt_buf_addc(&c, ']') < 0)
		abort();
	if (vt_stream_msg_parse(c.data, c.len, &m2, err, sizeof err) < 0 ||
	    m2.msm != m.msm || m2.prb != m.prb)
		abort();
out:
	vt_buf_free(&b);
	vt_buf_free(&c);
}

static void note(const uint8_t *data, size_t size)
{
	struct vt_stream_note n;
	struct vt_stream_row *rows = NULL;
	size_t nr = 0, at = 0;
	char *s = malloc(size + 1);

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vt_stream_note_parse(s, &n) == VT_OK) {
		for (size_t i = 0; i < n.n; i++) {
			if (n.r[i].msm <= 0 || n.r[i].lo <= 0 || n.r[i].lo > n.r[i].hi)
				abort();
			/* the rows of small ranges, to build payloads from */
			if (n.r[i].hi - n.r[i].lo < 64 && nr < 4096) {
				struct vt_stream_row *v = realloc(rows, (nr + 65) * sizeof *v);

				if (!v)
					break;
				rows = v;
				for (long long q = n.r[i].lo; q <= n.r[i].hi; q++)
					rows[nr++] = (struct vt_stream_row){ n.r[i].msm, q };
			}
		}
		vt_stream_note_free(&n);
	}
	/* payloads built from any rows parse, each within the size cap */
	while (at < nr) {
		struct vt_buf b;
		size_t before = at;

		vt_buf_init(&b, 0);
		if (vt_buf_adds(&b, "1 ") < 0 || vt_stream_note_build(rows, nr, &at, &b) < 0)
			abort();
		if (at == before || b.len > VT_STREAM_NOTE_MAX + 2)
			abort();
		/* "1 " then a leading item: the builder starts without a space */
		vt_buf_free(&b);
	}
	free(rows);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	frame(data, size);
	note(data, size);
	return 0;
}
