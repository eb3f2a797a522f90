/* cmdline.c - measurement command lines: tokenizer, parsers, formatter. */
#include "proto/cmdline.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokenizer ---------------------------------------------------- */

int vt_cmd_tokenize(const char *line, size_t len, struct vt_argv *out)
{
	size_t i = 0, w = 0;

	out->argc = 0;
	out->argv[0] = NULL;
	if (len > VT_CMD_MAX_BYTES)
		return VT_ETOOBIG;
	for (;;) {
		int in_tok = 0, quoted = 0;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len)
			break;
		if (out->argc >= VT_CMD_MAX_ARGS)
			return VT_ETOOBIG;
		out->argv[out->argc] = out->store + w;
		while (i < len) {
			unsigned char ch = (unsigned char)line[i];

			if (ch < 0x20 && ch != '\t')
				return VT_EPARSE;
			if (ch == 0x7f)
				return VT_EPARSE;
			if (ch == '"') {
				quoted = !quoted;
				in_tok = 1;
				i++;
				continue;
			}
			if (!quoted && (ch == ' ' || ch == '\t'))
				break;
			out->store[w++] = (char)ch;
			in_tok = 1;
			i++;
		}
		if (quoted)
			return VT_EPARSE;
		(void)in_tok;
		out->store[w++] = '\0';
		out->argc++;
	}
	out->argv[out->argc] = NULL;
	return VT_OK;
}

/* ---- helpers ------------------------------------------------------ */

struct perr {
	char  *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct perr *e, const char *fmt, ...)
{
	va_list ap;

	if (e->buf && e->len) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return VT_EPARSE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s || !((*s >= '0' && *s <= '9') || *s == '-'))
		return VT_EPARSE;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return VT_EPARSE;
	*out = v;
	return VT_OK;
}

/* A value that the formatter can write back: printable, no '"'. */
static int printable(const char *s, int allow_blank)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '"')
			return 0;
		if (!allow_blank && ch == ' ')
			return 0;
	}
	return 1;
}

/* Checks a query name in presentation form with its trailing dot. */
static int valid_qname(const char *s)
{
	size_t n = strlen(s), lab = 0, i;

	if (n == 0 || n > 254 || s[n - 1] != '.')
		return 0;
	if (n == 1)
		return 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			return 0;
		if (ch == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
		} else if (++lab > 63) {
			return 0;
		}
	}
	return 1;
}

/* Copies s into a fixed field, zero-filling the rest so that equal
 * commands compare equal byte for byte. */
static void set_str(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		n = size - 1;
	memset(dst, 0, size);
	memcpy(dst, s, n);
}

/* ---- option tables ------------------------------------------------ */

enum opt_id {
	O_V4 = 1, O_V6, O_MSM, O_OUT, O_BUNDLE,
	/* ping */
	O_COUNT, O_SIZE, O_INTERVAL,
	/* traceroute */
	O_ICMP, O_UDP, O_TCP_T, O_PARIS, O_PACKETS, O_FIRST, O_MAX, O_PORT,
	O_TSIZE, O_WAIT, O_DF, O_GAP,
	/* tdig */
	O_TCP, O_RD, O_CD, O_EDNS, O_DO, O_NSID, O_QBUF, O_RETRY, O_TIMEOUT,
	O_DPORT, O_TYPE, O_CLASS, O_QUERY, O_QT, O_CH_ID, O_CH_HOST,
	O_CH_VBIND, O_CH_VSERVER
};

struct opt {
	char        sname;      /* 0: long only */
	const char *lname;      /* NULL: short only */
	int         has_arg;
	int         id;
	int         qtype;      /* for O_QT */
};

static const struct opt ping_opts[] = {
	{ '4', NULL, 0, O_V4, 0 }, { '6', NULL, 0, O_V6, 0 },
	{ 'A', NULL, 1, O_MSM, 0 }, { 'O', NULL, 1, O_OUT, 0 },
	{ 'B', NULL, 1, O_BUNDLE, 0 },
	{ 'c', NULL, 1, O_COUNT, 0 }, { 's', NULL, 1, O_SIZE, 0 },
	{ 'i', NULL, 1, O_INTERVAL, 0 },
	{ 0, NULL, 0, 0, 0 }
};

static const struct opt trt_opts[] = {
	{ '4', NULL, 0, O_V4, 0 }, { '6', NULL, 0, O_V6, 0 },
	{ 'A', NULL, 1, O_MSM, 0 }, { 'O', NULL, 1, O_OUT, 0 },
	{ 'B', NULL, 1, O_BUNDLE, 0 },
	{ 'I', NULL, 0, O_ICMP, 0 }, { 'U', NULL, 0, O_UDP, 0 },
	{ 'T', NULL, 0, O_TCP_T, 0 }, { 'a', NULL, 1, O_PARIS, 0 },
	{ 'c', NULL, 1, O_PACKETS, 0 }, { 'f', NULL, 1, O_FIRST, 0 },
	{ 'm', NULL, 1, O_MAX, 0 }, { 'p', NULL, 1, O_PORT, 0 },
	{ 'S', NULL, 1, O_TSIZE, 0 }, { 'w', NULL, 1, O_WAIT, 0 },
	{ 'F', NULL, 0, O_DF, 0 }, { 'g', NULL, 1, O_GAP, 0 },
	{ 0, NULL, 0, 0, 0 }
};

static const struct opt tdig_opts[] = {
	{ '4', NULL, 0, O_V4, 0 }, { '6', NULL, 0, O_V6, 0 },
	{ 'A', NULL, 1, O_MSM, 0 }, { 'O', "out-file", 1, O_OUT, 0 },
	{ 'B', NULL, 1, O_BUNDLE, 0 },
	{ 't', NULL, 0, O_TCP, 0 }, { 'R', NULL, 0, O_RD, 0 },
	{ 0, "cd", 0, O_CD, 0 },
	{ 'e', NULL, 1, O_EDNS, 0 }, { 'd', NULL, 0, O_DO, 0 },
	{ 'n', NULL, 0, O_NSID, 0 }, { 'q', "qbuf", 0, O_QBUF, 0 },
	{ 0, "retry", 1, O_RETRY, 0 }, { 0, "timeout", 1, O_TIMEOUT, 0 },
	{ 'p', "port", 1, O_DPORT, 0 },
	{ 0, "type", 1, O_TYPE, 0 }, { 0, "class", 1, O_CLASS, 0 },
	{ 0, "query", 1, O_QUERY, 0 },
	{ 0, "a", 1, O_QT, 1 }, { 0, "ns", 1, O_QT, 2 },
	{ 0, "cname", 1, O_QT, 5 }, { 0, "soa", 1, O_QT, 6 },
	{ 0, "ptr", 1, O_QT, 12 }, { 0, "mx", 1, O_QT, 15 },
	{ 0, "txt", 1, O_QT, 16 }, { 0, "aaaa", 1, O_QT, 28 },
	{ 0, "srv", 1, O_QT, 33 }, { 0, "naptr", 1, O_QT, 35 },
	{ 0, "ds", 1, O_QT, 43 }, { 0, "dnskey", 1, O_QT, 48 },
	{ 0, "any", 1, O_QT, 255 },
	{ 'i', NULL, 0, O_CH_ID, 0 }, { 'h', NULL, 0, O_CH_HOST, 0 },
	{ 'b', NULL, 0, O_CH_VBIND, 0 }, { 'r', NULL, 0, O_CH_VSERVER, 0 },
	{ 0, NULL, 0, 0, 0 }
};

static const char *const chaos_names[] = {
	"", "hostname.bind.", "id.server.", "version.bind.", "version.server."
};
static const char chaos_flags[] = { 0, 'h', 'i', 'b', 'r' };

const char *vt_cmd_type_name(enum vt_cmd_type type)
{
	switch (type) {
	case VT_CMD_PING:       return "evping";
	case VT_CMD_TRACEROUTE: return "evtraceroute";
	case VT_CMD_TDIG:       return "evtdig";
	default:                return NULL;
	}
}

static void set_chaos(struct vt_cmd_tdig *t, enum vt_tdig_chaos q)
{
	t->chaos = q;
	t->qtype = 16;
	t->qclass = 3;
	set_str(t->qname, sizeof(t->qname), chaos_names[q]);
}

void vt_cmdline_defaults(struct vt_cmdline *c, enum vt_cmd_type type)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->af = 6;
	switch (type) {
	case VT_CMD_PING:
		c->u.ping.count = 3;
		c->u.ping.size = 48;
		c->u.ping.interval_ms = 1000;
		break;
	case VT_CMD_TRACEROUTE:
		c->u.traceroute.proto = VT_TRT_ICMP;
		c->u.traceroute.paris = 16;
		c->u.traceroute.packets = 3;
		c->u.traceroute.first_hop = 1;
		c->u.traceroute.max_hops = 32;
		c->u.traceroute.size = 40;
		c->u.traceroute.wait_ms = 1000;
		break;
	case VT_CMD_TDIG:
		c->u.tdig.timeout_ms = 5000;
		c->u.tdig.port = 53;
		set_chaos(&c->u.tdig, VT_TDIG_Q_HOSTNAME_BIND);
		break;
	default:
		break;
	}
}

/* ---- per-tool state while parsing --------------------------------- */

struct pstate {
	struct vt_cmdline *c;
	struct perr       *e;
	int  got_v4, got_v6, got_msm, got_proto;
	int  got_query, got_type, got_class, got_qname;
	long type, klass;
};

static int opt_value(struct pstate *st, const struct opt *o, const char *v)
{
	struct vt_cmdline *c = st->c;
	long n = 0;
	const char *on = o->lname ? o->lname : "";
	char sn[2] = { o->sname, 0 };
	const char *dash = o->sname ? "-" : "--";
	const char *name = o->sname ? sn : on;

#define NUM(lo, hi) do { \
	if (parse_int(v, (lo), (hi), &n) < 0) \
		return fail(st->e, "%s%s: expected a number in %ld..%ld, got '%s'", \
			    dash, name, (long)(lo), (long)(hi), v); \
} while (0)

	switch (o->id) {
	case O_V4: st->got_v4 = 1; c->af = 4; break;
	case O_V6: st->got_v6 = 1; c->af = 6; break;
	case O_MSM:
		NUM(1, 2147483647L);
		c->msm_id = n;
		st->got_msm = 1;
		break;
	case O_OUT:
		if (!*v || strlen(v) > VT_CMD_NAME_MAX || !printable(v, 1))
			return fail(st->e, "-O: bad file name");
		set_str(c->out_file, sizeof(c->out_file), v);
		break;
	case O_BUNDLE:
		NUM(0, 2147483647L);
		{
			char nb[24];

			snprintf(nb, sizeof(nb), "%ld", n);
			set_str(c->bundle, sizeof(c->bundle), nb);
		}
		break;
	case O_COUNT: NUM(1, 1000); c->u.ping.count = (int)n; break;
	case O_SIZE: NUM(0, 2048); c->u.ping.size = (int)n; break;
	case O_INTERVAL: NUM(1, 60000); c->u.ping.interval_ms = (int)n; break;
	case O_ICMP: case O_UDP: case O_TCP_T: {
		enum vt_trt_proto p = o->id == O_ICMP ? VT_TRT_ICMP :
				      o->id == O_UDP ? VT_TRT_UDP : VT_TRT_TCP;
		if (st->got_proto && c->u.traceroute.proto != p)
			return fail(st->e, "only one of -I, -U, -T");
		st->got_proto = 1;
		c->u.traceroute.proto = p;
		break;
	}
	case O_PARIS: NUM(0, 64); c->u.traceroute.paris = (int)n; break;
	case O_PACKETS: NUM(1, 16); c->u.traceroute.packets = (int)n; break;
	case O_FIRST: NUM(1, 255); c->u.traceroute.first_hop = (int)n; break;
	case O_MAX: NUM(1, 255); c->u.traceroute.max_hops = (int)n; break;
	case O_PORT: NUM(1, 65535); c->u.traceroute.port = (int)n; break;
	case O_TSIZE: NUM(0, 2048); c->u.traceroute.size = (int)n; break;
	case O_WAIT: NUM(10, 60000); c->u.traceroute.wait_ms = (int)n; break;
	case O_DF: c->u.traceroute.dont_fragment = 1; break;
	case O_GAP: NUM(0, 255); c->u.traceroute.gap_limit = (int)n; break;
	case O_TCP: c->u.tdig.tcp = 1; break;
	case O_RD: c->u.tdig.rd = 1; break;
	case O_CD: c->u.tdig.cd = 1; break;
	case O_EDNS: NUM(0, 65535); c->u.tdig.edns0 = (int)n; break;
	case O_DO: c->u.tdig.dnssec_ok = 1; break;
	case O_NSID: c->u.tdig.nsid = 1; break;
	case O_QBUF: c->u.tdig.qbuf = 1; break;
	case O_RETRY: NUM(0, 10); c->u.tdig.retry = (int)n; break;
	case O_TIMEOUT: NUM(100, 60000); c->u.tdig.timeout_ms = (int)n; break;
	case O_DPORT: NUM(1, 65535); c->u.tdig.port = (int)n; break;
	case O_TYPE:
		NUM(0, 65535);
		st->type = n;
		st->got_type = 1;
		break;
	case O_CLASS:
		NUM(0, 65535);
		st->klass = n;
		st->got_class = 1;
		break;
	case O_QUERY: case O_QT:
		if (!valid_qname(v))
			return fail(st->e, "--%s: '%s' is not a query name with "
				    "a trailing dot", on, v);
		if (st->got_qname)
			return fail(st->e, "more than one query name");
		st->got_qname = 1;
		set_str(c->u.tdig.qname, sizeof(c->u.tdig.qname), v);
		if (o->id == O_QT) {
			if (st->got_type)
				return fail(st->e, "--%s with --type", on);
			st->got_type = 1;
			st->type = o->qtype;
			st->klass = st->got_class ? st->klass : 1;
			st->got_class = 1;
		}
		break;
	case O_CH_ID: case O_CH_HOST: case O_CH_VBIND: case O_CH_VSERVER: {
		enum vt_tdig_chaos q = o->id == O_CH_ID ? VT_TDIG_Q_ID_SERVER :
			o->id == O_CH_HOST ? VT_TDIG_Q_HOSTNAME_BIND :
			o->id == O_CH_VBIND ? VT_TDIG_Q_VERSION_BIND :
			VT_TDIG_Q_VERSION_SERVER;
		if (st->got_query && c->u.tdig.chaos != q)
			return fail(st->e, "only one of -i, -h, -b, -r");
		st->got_query = 1;
		set_chaos(&c->u.tdig, q);
		break;
	}
	default:
		return fail(st->e, "internal: unhandled option");
	}
#undef NUM
	return VT_OK;
}

static const struct opt *find_short(const struct opt *t, char ch)
{
	for (; t->id; t++)
		if (t->sname && t->sname == ch)
			return t;
	return NULL;
}

static const struct opt *find_long(const struct opt *t, const char *name,
				   size_t n)
{
	for (; t->id; t++)
		if (t->lname && strlen(t->lname) == n &&
		    memcmp(t->lname, name, n) == 0)
			return t;
	return NULL;
}

static int finish(struct pstate *st)
{
	struct vt_cmdline *c = st->c;

	if (st->got_v4 && st->got_v6)
		return fail(st->e, "only one of -4 and -6");
	c->af_given = st->got_v4 || st->got_v6;
	if (!st->got_msm)
		return fail(st->e, "missing -A <msm id>");
	if (c->type == VT_CMD_TRACEROUTE &&
	    c->u.traceroute.max_hops < c->u.traceroute.first_hop)
		return fail(st->e, "-m %d is below -f %d",
			    c->u.traceroute.max_hops, c->u.traceroute.first_hop);
	if (c->type == VT_CMD_TDIG) {
		struct vt_cmd_tdig *t = &c->u.tdig;

		if ((st->got_type || st->got_class) && !st->got_qname)
			return fail(st->e, "--type/--class need --query NAME.");
		if (st->got_qname) {
			if (st->got_query)
				return fail(st->e, "a query name with -i/-h/-b/-r");
			t->chaos = VT_TDIG_Q_NONE;
			t->qtype = st->got_type ? (int)st->type : 1;
			t->qclass = st->got_class ? (int)st->klass : 1;
		}
	}
	return VT_OK;
}

int vt_cmdline_parse_argv(int argc, char *const *argv, struct vt_cmdline *out,
			  char *errbuf, size_t errlen)
{
	struct perr e = { errbuf, errlen };
	struct pstate st;
	const struct opt *tab;
	enum vt_cmd_type type;
	const char *target = NULL;
	int i, rc, dashdash = 0;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	memset(&st, 0, sizeof(st));
	if (argc < 1 || !argv[0])
		return fail(&e, "empty command line");
	if (strcmp(argv[0], "evping") == 0) {
		type = VT_CMD_PING;
		tab = ping_opts;
	} else if (strcmp(argv[0], "evtraceroute") == 0) {
		type = VT_CMD_TRACEROUTE;
		tab = trt_opts;
	} else if (strcmp(argv[0], "evtdig") == 0) {
		type = VT_CMD_TDIG;
		tab = tdig_opts;
	} else {
		return fail(&e, "unknown measurement '%.40s'", argv[0]);
	}
	vt_cmdline_defaults(out, type);
	st.c = out;
	st.e = &e;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (target)
				return fail(&e, "more than one target ('%.40s', '%.40s')",
					    target, a);
			target = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t n = eq ? (size_t)(eq - name) : strlen(name);
			const struct opt *o = find_long(tab, name, n);
			const char *v = NULL;

			if (!o)
				return fail(&e, "%s: unknown option '--%.*s'",
					    argv[0], (int)(n > 40 ? 40 : n), name);
			if (o->has_arg) {
				if (eq)
					v = eq + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else
					return fail(&e, "--%s needs a value", o->lname);
			} else if (eq) {
				return fail(&e, "--%s takes no value", o->lname);
			}
			rc = opt_value(&st, o, v);
			if (rc < 0)
				return rc;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			const struct opt *o = find_short(tab, *p);
			const char *v = NULL;

			if (!o) {
				unsigned char ch = (unsigned char)*p;

				if (ch >= 0x21 && ch < 0x7f)
					return fail(&e, "%s: unknown option '-%c'",
						    argv[0], *p);
				return fail(&e, "%s: unknown option", argv[0]);
			}
			if (o->has_arg) {
				if (p[1])
					v = p + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else
					return fail(&e, "-%c needs a value", *p);
			}
			rc = opt_value(&st, o, v);
			if (rc < 0)
				return rc;
			if (o->has_arg)
				break;
		}
	}
	rc = finish(&st);
	if (rc < 0)
		return rc;
	if (!target)
		return fail(&e, "missing target");
	if (!*target || strlen(target) > VT_CMD_NAME_MAX || !printable(target, 0))
		return fail(&e, "bad target");
	set_str(out->target, sizeof(out->target), target);
	return VT_OK;
}

int vt_cmdline_parse(const char *line, size_t len, struct vt_cmdline *out,
		     char *errbuf, size_t errlen)
{
	struct vt_argv *av;
	int rc;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	av = malloc(sizeof(*av));
	if (!av)
		return VT_ENOMEM;
	rc = vt_cmd_tokenize(line, len, av);
	if (rc < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s",
				 rc == VT_ETOOBIG ? "command line over 512 bytes or 64 arguments"
						  : "bad quoting or control byte in command line");
		goto out;
	}
	rc = vt_cmdline_parse_argv(av->argc, av->argv, out, errbuf, errlen);
out:
	free(av);
	return rc;
}

/* ---- formatter ---------------------------------------------------- */

static int add_word(struct vt_buf *b, const char *w)
{
	int rc;

	if (!printable(w, 1))
		return VT_EINVAL;
	if (*w && !strchr(w, ' '))
		return vt_buf_addf(b, " %s", w);
	rc = vt_buf_adds(b, " \"");
	if (rc == 0)
		rc = vt_buf_adds(b, w);
	if (rc == 0)
		rc = vt_buf_addc(b, '"');
	return rc;
}

int vt_cmdline_format(const struct vt_cmdline *c, struct vt_buf *out)
{
	struct vt_buf b;
	const char *tool = vt_cmd_type_name(c->type);
	int rc;

	vt_buf_init(&b, VT_CMD_MAX_BYTES);
	if (!tool || !c->target[0] || (c->af != 4 && c->af != 6) || c->msm_id <= 0)
		return VT_EINVAL;
	rc = vt_buf_addf(&b, "%s -%d", tool, c->af);
	if (rc < 0)
		goto out;
	switch (c->type) {
	case VT_CMD_PING: {
		const struct vt_cmd_ping *p = &c->u.ping;

		rc = vt_buf_addf(&b, " -c %d -s %d -i %d", p->count, p->size,
				 p->interval_ms);
		break;
	}
	case VT_CMD_TRACEROUTE: {
		const struct vt_cmd_traceroute *t = &c->u.traceroute;

		rc = vt_buf_addf(&b, " -%c -a %d -c %d -f %d -m %d",
				 t->proto == VT_TRT_UDP ? 'U' :
				 t->proto == VT_TRT_TCP ? 'T' : 'I',
				 t->paris, t->packets, t->first_hop, t->max_hops);
		if (rc == 0 && t->port)
			rc = vt_buf_addf(&b, " -p %d", t->port);
		if (rc == 0)
			rc = vt_buf_addf(&b, " -S %d -w %d", t->size, t->wait_ms);
		if (rc == 0 && t->dont_fragment)
			rc = vt_buf_adds(&b, " -F");
		if (rc == 0 && t->gap_limit)
			rc = vt_buf_addf(&b, " -g %d", t->gap_limit);
		break;
	}
	case VT_CMD_TDIG: {
		const struct vt_cmd_tdig *t = &c->u.tdig;

		rc = vt_buf_addf(&b, "%s%s%s", t->tcp ? " -t" : "",
				 t->rd ? " -R" : "", t->cd ? " --cd" : "");
		if (rc == 0 && t->edns0)
			rc = vt_buf_addf(&b, " -e %d", t->edns0);
		if (rc == 0)
			rc = vt_buf_addf(&b, "%s%s%s --retry %d --timeout %d",
					 t->dnssec_ok ? " -d" : "",
					 t->nsid ? " -n" : "", t->qbuf ? " -q" : "",
					 t->retry, t->timeout_ms);
		if (rc == 0 && t->port != 53)
			rc = vt_buf_addf(&b, " -p %d", t->port);
		if (rc < 0)
			break;
		if (t->chaos > VT_TDIG_Q_NONE && t->chaos <= VT_TDIG_Q_VERSION_SERVER) {
			rc = vt_buf_addf(&b, " -%c", chaos_flags[t->chaos]);
		} else {
			if (!valid_qname(t->qname)) {
				rc = VT_EINVAL;
				break;
			}
			rc = vt_buf_addf(&b, " --type %d --class %d --query",
					 t->qtype, t->qclass);
			if (rc == 0)
				rc = add_word(&b, t->qname);
		}
		break;
	}
	default:
		rc = VT_EINVAL;
		break;
	}
	if (rc == 0)
		rc = vt_buf_addf(&b, " -A %ld", c->msm_id);
	if (rc == 0 && c->bundle[0])
		rc = vt_buf_addf(&b, " -B %s", c->bundle);
	if (rc == 0 && c->out_file[0]) {
		rc = vt_buf_adds(&b, " -O");
		if (rc == 0)
			rc = add_word(&b, c->out_file);
	}
	if (rc == 0) {
		if (!printable(c->target, 0) || c->target[0] == '-')
			rc = VT_EINVAL;
		else
			rc = vt_buf_addf(&b, " %s", c->target);
	}
	if (rc == 0)
		rc = vt_buf_add(out, b.data, b.len);
out:
	vt_buf_free(&b);
	return rc;
}
