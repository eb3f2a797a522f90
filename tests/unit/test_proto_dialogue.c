/* test_proto_dialogue.c - the command dialogue, replayed from the
 * transcripts tests/data/proto/dialogue_*.txt on both ends (the probe's
 * server fed by the controller's bytes, the controller's client fed by the
 * probe's bytes), plus the legacy path mapping. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/dialogue.h"

#define MAX_REC 64

struct rec {
	char dir;                  /* 'P', 'C', 'E' */
	struct vt_buf data;
};

struct transcript {
	char sid[100], host[100], client_sid[100];
	long probe_id;
	int skip_client;
	char result[16];
	struct rec rec[MAX_REC];
	int n;
};

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes a C-style quoted string ("...\r\n\xff..."). */
static int unquote(const char *s, struct vt_buf *out)
{
	if (*s++ != '"')
		return -1;
	while (*s && *s != '"') {
		char c = *s++;

		if (c == '\\') {
			c = *s++;
			switch (c) {
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'x':
				if (unhex(s[0]) < 0 || unhex(s[1]) < 0)
					return -1;
				c = (char)(unhex(s[0]) * 16 + unhex(s[1]));
				s += 2;
				break;
			case '\\': case '"': break;
			default: return -1;
			}
		}
		if (vt_buf_addc(out, c) < 0)
			return -1;
	}
	return *s == '"' ? 0 : -1;
}

static int load(const char *path, struct transcript *t)
{
	FILE *f = fopen(path, "r");
	char line[4096];

	memset(t, 0, sizeof *t);
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (line[0] == 'S') {
			if (sscanf(line, "S %99s %ld %99s %99s", t->sid, &t->probe_id,
				   t->host, t->client_sid) != 4)
				goto bad;
		} else if (line[0] == 'X') {
			t->skip_client = 1;
		} else if (line[0] == 'R') {
			if (sscanf(line, "R %15s", t->result) != 1)
				goto bad;
		} else if ((line[0] == 'P' || line[0] == 'C' || line[0] == 'E') &&
			   t->n < MAX_REC) {
			struct rec *r = &t->rec[t->n++];

			r->dir = line[0];
			vt_buf_init(&r->data, 0);
			if (line[0] == 'E') {
				if (vt_buf_adds(&r->data, line + 2) < 0 ||
				    vt_buf_addc(&r->data, '\n') < 0)
					goto bad;
			} else if (unquote(line + 2, &r->data) < 0) {
				goto bad;
			}
		} else {
			goto bad;
		}
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	return -1;
}

static void unload(struct transcript *t)
{
	for (int i = 0; i < t->n; i++)
		vt_buf_free(&t->rec[i].data);
}

/* Concatenates the records of direction dir from *i on, up to the first
 * record of the other side (E records are skipped). */
static void group(const struct transcript *t, int *i, char dir, struct vt_buf *out)
{
	vt_buf_reset(out);
	while (*i < t->n && (t->rec[*i].dir == dir || t->rec[*i].dir == 'E')) {
		if (t->rec[*i].dir == dir && t->rec[*i].data.len &&
		    vt_buf_add(out, t->rec[*i].data.data, t->rec[*i].data.len) < 0)
			return;
		(*i)++;
	}
}

static int result_code(const char *name)
{
	if (strcmp(name, "OK") == 0)
		return VT_OK;
	if (strcmp(name, "EAUTH") == 0)
		return VT_EAUTH;
	if (strcmp(name, "EPROTO") == 0)
		return VT_EPROTO;
	return 99;
}

static const char *const type_names[] = {
	"CRONTAB", "CRONLINE", "CRONTAB_END", "ONEOFF", "REBOOT", "RELOAD"
};

/* The probe's callback: records the command, refuses unmappable paths. */
static enum vt_dlg_error record_cmd(void *arg, const struct vt_dlg_cmd *cmd)
{
	struct vt_buf *events = arg;
	char mapped[512];

	if (vt_buf_adds(events, type_names[cmd->type]) < 0 ||
	    (cmd->path && vt_buf_addf(events, " %s", cmd->path) < 0) ||
	    (cmd->line && vt_buf_addf(events, " %s", cmd->line) < 0) ||
	    vt_buf_addc(events, '\n') < 0)
		return VT_DLG_IO_ERROR;
	if ((cmd->type == VT_DLG_CMD_CRONTAB || cmd->type == VT_DLG_CMD_ONEOFF) &&
	    vt_dlg_map_path(cmd->path, "/var/spool/vantage", mapped, sizeof mapped) < 0)
		return VT_DLG_BAD_PATH;
	return VT_DLG_OK;
}

static void expected_events(const struct transcript *t, struct vt_buf *out)
{
	vt_buf_reset(out);
	for (int i = 0; i < t->n; i++)
		if (t->rec[i].dir == 'E' &&
		    vt_buf_add(out, t->rec[i].data.data, t->rec[i].data.len) < 0)
			return;
}

/* Server side: the controller's bytes in, the probe's bytes out.  With
 * bytewise set, every byte is fed alone. */
static void replay_server(const struct transcript *t, const char *name, int bytewise)
{
	struct vt_dlg_server *s = NULL;
	struct vt_buf out, want, ctrl, events, want_events;
	int i = 0, r = VT_EAGAIN;

	vt_buf_init(&out, 0);
	vt_buf_init(&want, 0);
	vt_buf_init(&ctrl, 0);
	vt_buf_init(&events, 0);
	vt_buf_init(&want_events, 0);
	CHECK_INT(vt_dlg_server_new(t->probe_id, t->host, t->sid, record_cmd, &events,
				    &s, &out), VT_OK);
	if (!s)
		goto out;
	group(t, &i, 'P', &want);
	CHECK(out.len == want.len && memcmp(out.data, want.data, out.len) == 0);
	while (i < t->n) {
		group(t, &i, 'C', &ctrl);
		group(t, &i, 'P', &want);
		vt_buf_reset(&out);
		if (bytewise) {
			for (size_t k = 0; k < ctrl.len; k++)
				r = vt_dlg_server_feed(s, ctrl.data + k, 1, &out);
		} else {
			r = vt_dlg_server_feed(s, ctrl.data, ctrl.len, &out);
		}
		if (out.len != want.len || memcmp(out.data ? out.data : "", want.data ? want.data : "", out.len)) {
			printf("# %s: server sent \"%s\", want \"%s\"\n", name,
			       out.data ? out.data : "", want.data ? want.data : "");
			CHECK(!"server output");
		}
	}
	CHECK_INT(r, result_code(t->result));
	expected_events(t, &want_events);
	CHECK_STR(events.data ? events.data : "", want_events.data ? want_events.data : "");
out:
	vt_dlg_server_free(s);
	vt_buf_free(&out);
	vt_buf_free(&want);
	vt_buf_free(&ctrl);
	vt_buf_free(&events);
	vt_buf_free(&want_events);
}

/* Client side: the batch rebuilt from the E records, the probe's bytes in,
 * the controller's bytes out. */
static void replay_client(const struct transcript *t, const char *name, int bytewise)
{
	struct vt_dlg_batch *b = vt_dlg_batch_new();
	struct vt_dlg_client *c = NULL;
	struct vt_buf out, want, probe;
	int i = 0, r = VT_EAGAIN;

	vt_buf_init(&out, 0);
	vt_buf_init(&want, 0);
	vt_buf_init(&probe, 0);
	CHECK(b != NULL);
	if (!b)
		goto out;
	for (int k = 0; k < t->n; k++) {
		char line[4096], *sp, *sp2;

		if (t->rec[k].dir != 'E')
			continue;
		snprintf(line, sizeof line, "%s", t->rec[k].data.data);
		line[strcspn(line, "\n")] = '\0';
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		sp2 = strchr(sp, ' ');
		if (strcmp(line, "CRONTAB") == 0) {
			CHECK_INT(vt_dlg_batch_crontab(b, sp), VT_OK);
		} else if (strcmp(line, "CRONLINE") == 0 && sp2) {
			CHECK_INT(vt_dlg_batch_cronline(b, sp2 + 1), VT_OK);
		} else if (strcmp(line, "ONEOFF") == 0 && sp2) {
			*sp2 = '\0';
			CHECK_INT(vt_dlg_batch_oneoff(b, sp, sp2 + 1), VT_OK);
		}
	}
	CHECK_INT(vt_dlg_client_new(t->client_sid, b, &c), VT_OK);
	if (!c)
		goto out;
	while (i < t->n) {
		group(t, &i, 'P', &probe);
		group(t, &i, 'C', &want);
		vt_buf_reset(&out);
		if (bytewise) {
			for (size_t k = 0; k < probe.len; k++)
				r = vt_dlg_client_feed(c, probe.data + k, 1, &out);
		} else {
			r = vt_dlg_client_feed(c, probe.data, probe.len, &out);
		}
		if (out.len != want.len || memcmp(out.data ? out.data : "", want.data ? want.data : "", out.len)) {
			printf("# %s: client sent \"%s\", want \"%s\"\n", name,
			       out.data ? out.data : "", want.data ? want.data : "");
			CHECK(!"client output");
		}
	}
	CHECK_INT(r, result_code(t->result));
out:
	vt_dlg_client_free(c);
	vt_dlg_batch_free(b);
	vt_buf_free(&out);
	vt_buf_free(&want);
	vt_buf_free(&probe);
}

static void test_transcripts(void)
{
	static const char *const names[] = {
		"dialogue_ok", "dialogue_empty_crontab", "dialogue_bad_password",
		"dialogue_crlf", "dialogue_bad_command", "dialogue_bad_path",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct transcript t;
		char path[256];

		snprintf(path, sizeof path, "tests/data/proto/%s.txt", names[i]);
		if (load(path, &t) < 0) {
			printf("# cannot load %s\n", path);
			CHECK(!"transcript loads");
			unload(&t);
			continue;
		}
		replay_server(&t, names[i], 0);
		replay_server(&t, names[i], 1);
		if (!t.skip_client) {
			replay_client(&t, names[i], 0);
			replay_client(&t, names[i], 1);
		}
		unload(&t);
	}
}

static void test_client_errors(void)
{
	struct vt_dlg_batch *b = vt_dlg_batch_new();
	struct vt_dlg_client *c = NULL;
	struct vt_buf out;
	char junk[4096];

	vt_buf_init(&out, 0);
	/* the batch refuses what the probe would misread */
	CHECK_INT(vt_dlg_batch_cronline(b, "60 1 2 NONE 0 x"), VT_EINVAL);
	CHECK_INT(vt_dlg_batch_crontab(b, "/home/atlas/crons/2\n"), VT_EINVAL);
	CHECK_INT(vt_dlg_batch_crontab(b, "/home/atlas/crons/2"), VT_OK);
	CHECK_INT(vt_dlg_batch_cronline(b, "60 1 2 NONE 0 x\r"), VT_EINVAL);
	CHECK_INT(vt_dlg_batch_cronline(b, ""), VT_EINVAL);
	CHECK_INT(vt_dlg_batch_oneoff(b, "/home/atlas/crons/oneoff", "x\ny"), VT_EINVAL);
	memset(junk, 'a', sizeof junk);
	junk[sizeof junk - 1] = '\0';
	CHECK_INT(vt_dlg_batch_cronline(b, junk), VT_ETOOBIG);
	CHECK_INT(vt_dlg_batch_format(b, &out), VT_OK);
	CHECK_STR(out.data, "CRONTAB /home/atlas/crons/2\n\n");
	vt_buf_reset(&out);

	/* an error word in place of OK */
	CHECK_INT(vt_dlg_client_new("ab", b, &c), VT_OK);
	CHECK_INT(vt_dlg_client_feed(c, "login: ", 7, &out), VT_EAGAIN);
	CHECK_STR(out.data, "C_TO_P_TEST_V1\n");
	CHECK_INT(vt_dlg_client_feed(c, "\r\nPassword: ", 12, &out), VT_EAGAIN);
	CHECK_INT(vt_dlg_client_feed(c, "CRONTAB_BUSY\r\n\r\n", 16, &out), VT_EPROTO);
	CHECK_INT(vt_dlg_client_error(c), VT_DLG_CRONTAB_BUSY);
	CHECK_INT(vt_dlg_client_feed(c, "OK\r\n", 4, &out), VT_EPROTO);
	vt_dlg_client_free(c);

	/* garbage where the answer belongs */
	CHECK_INT(vt_dlg_client_new("ab", b, &c), VT_OK);
	CHECK_INT(vt_dlg_client_feed(c, "login: \r\nPassword: ", 19, &out), VT_EAGAIN);
	CHECK_INT(vt_dlg_client_feed(c, "hello\n", 6, &out), VT_EPROTO);
	vt_dlg_client_free(c);

	/* a probe that talks forever */
	CHECK_INT(vt_dlg_client_new("ab", b, &c), VT_OK);
	{
		int r = VT_EAGAIN;

		for (int k = 0; k < 40 && r == VT_EAGAIN; k++)
			r = vt_dlg_client_feed(c, junk, sizeof junk - 1, &out);
		CHECK_INT(r, VT_ETOOBIG);
	}
	vt_dlg_client_free(c);
	CHECK_INT(vt_dlg_client_new("a\nb", b, &c), VT_EINVAL);
	vt_dlg_batch_free(b);
	vt_buf_free(&out);
	CHECK_STR(vt_dlg_error_name(VT_DLG_UNABLE_TO_CREATE_NEW_CRONTAB),
		  "UNABLE_TO_CREATE_NEW_CRONTAB");
}

static enum vt_dlg_error accept_all(void *arg, const struct vt_dlg_cmd *cmd)
{
	int *n = arg;

	(*n)++;
	return VT_DLG_OK;
}

static void test_server_edges(void)
{
	struct vt_dlg_server *s = NULL;
	struct vt_buf out;
	char longline[VT_DLG_LINE_MAX + 20];
	int n = 0;

	vt_buf_init(&out, 0);
	CHECK_INT(vt_dlg_server_new(1, "h\nx", "ab", accept_all, &n, &s, &out), VT_EINVAL);
	CHECK_INT(vt_dlg_server_new(1, "h", "not-hex", accept_all, &n, &s, &out), VT_EINVAL);
	CHECK_INT(out.len, 0);

	/* a wrong login word */
	CHECK_INT(vt_dlg_server_new(1, "h", "ab", accept_all, &n, &s, &out), VT_OK);
	vt_buf_reset(&out);
	CHECK_INT(vt_dlg_server_feed(s, "root\n", 5, &out), VT_EPROTO);
	CHECK_STR(out.data, "BAD_COMMAND\r\n\r\n");
	vt_dlg_server_free(s);

	/* a password that is a prefix of the session id */
	CHECK_INT(vt_dlg_server_new(1, "h", "abcd", accept_all, &n, &s, &out), VT_OK);
	vt_buf_reset(&out);
	CHECK_INT(vt_dlg_server_feed(s, "C_TO_P_TEST_V1\nabc\n", 19, &out), VT_EAUTH);
	vt_dlg_server_free(s);

	/* REBOOT, RELOAD, and an over-long line */
	CHECK_INT(vt_dlg_server_new(1, "h", "abcd", accept_all, &n, &s, &out), VT_OK);
	vt_buf_reset(&out);
	n = 0;
	CHECK_INT(vt_dlg_server_feed(s, "C_TO_P_TEST_V1\nabcd\nREBOOT\nRELOAD\n", 34, &out), VT_EAGAIN);
	CHECK_INT(n, 2);
	memset(longline, 'x', sizeof longline);
	CHECK_INT(vt_dlg_server_feed(s, longline, sizeof longline, &out), VT_EPROTO);
	CHECK_STR(out.data, "\r\nPassword: BAD_COMMAND\r\n\r\n");
	vt_dlg_server_free(s);
	vt_dlg_server_free(NULL);
	vt_buf_free(&out);
}

static void test_map_path(void)
{
	char out[64];

	CHECK_INT(vt_dlg_map_path("/home/atlas/crons/2", "/var/spool/v", out, sizeof out), VT_OK);
	CHECK_STR(out, "/var/spool/v/crons/2");
	CHECK_INT(vt_dlg_map_path("/home/atlas/data/new/x", "/s/", out, sizeof out), VT_OK);
	CHECK_STR(out, "/s/data/new/x");
	CHECK_INT(vt_dlg_map_path("/home/atlas/status/con_session_id.txt", "/", out, sizeof out), VT_OK);
	CHECK_STR(out, "/status/con_session_id.txt");
	CHECK_INT(vt_dlg_map_path("/home/atlas/crons/../../etc", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/..", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/./crons", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas//crons", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/crons/", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlasx/crons", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/etc/passwd", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("home/atlas/crons", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/a\tb", "/s", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/..x", "/s", out, sizeof out), VT_OK);
	CHECK_INT(vt_dlg_map_path("/home/atlas/crons/2", "", out, sizeof out), VT_EINVAL);
	CHECK_INT(vt_dlg_map_path("/home/atlas/crons/2", "/s", out, 8), VT_ETOOBIG);
	{
		char name[300] = "/home/atlas/";

		memset(name + 12, 'n', 256);
		name[12 + 256] = '\0';
		CHECK_INT(vt_dlg_map_path(name, "/s", out, sizeof out), VT_EINVAL);
	}
}

int main(void)
{
	test_transcripts();
	test_client_errors();
	test_server_edges();
	test_map_path();
	return CHECK_DONE();
}
