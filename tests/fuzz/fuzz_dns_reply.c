/* fuzz_dns_reply.c - the DNS reply decoder (proto/dns.h): header, every
 * record, TXT strings and SOA rdata, then a query built from each owner
 * name read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vt_dns_rr rr;
	static struct vt_dns_soa soa;
	struct vt_dns_reader r;
	struct vt_buf q;
	int rc, n = 0;

	if (vt_dns_reader_init(&r, data, size) < 0)
		return 0;
	vt_buf_init(&q, 1024);
	while ((rc = vt_dns_reader_next(&r, &rr)) == 1 && n++ < 1000) {
		const uint8_t *s;
		size_t pos = 0, len;
		char tn[16];

		if (strlen(rr.name) >= sizeof(rr.name))
			abort();
		(void)vt_dns_type_name(rr.type, tn, sizeof(tn));
		if (rr.type == 16)
			while (vt_dns_txt_next(&rr, &pos, &s, &len) == 1)
				if (s + len > data + size)
					abort();
		if (rr.type == 6 && vt_dns_soa_parse(data, size, &rr, &soa) == 0 &&
		    (strlen(soa.mname) >= sizeof(soa.mname) ||
		     strlen(soa.rname) >= sizeof(soa.rname)))
			abort();
		{
			struct vt_dns_query dq = { .qname = rr.name, .qtype = rr.type,
						   .qclass = rr.klass, .nsid = 1 };

			vt_buf_reset(&q);
			/* a name read from the wire always fits the wire again */
			if (vt_dns_build_query(&dq, &q) < 0)
				abort();
		}
	}
	vt_buf_free(&q);
	return 0;
}
