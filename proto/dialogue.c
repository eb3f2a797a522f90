/* dialogue.c - the command dialogue over the forwarded channel
 * (PROTOCOL.md, "Command dialogue"): the controller's client, the probe's
 * server and the probe's legacy path mapping. */
#include "proto/dialogue.h"
#include "proto/reg.h"

#include <stdlib.h>
#include <string.h>

#define CLIENT_MAX_IN   (64 * 1024)
#define NAME_MAX_BYTES  255
#define LOGIN_WORD      "C_TO_P_TEST_V1"

static const char *const error_names[] = {
	[VT_DLG_OK] = "OK",
	[VT_DLG_BAD_PASSWORD] = "BAD_PASSWORD",
	[VT_DLG_BAD_COMMAND] = "BAD_COMMAND",
	[VT_DLG_NAME_TOO_LONG] = "NAME_TOO_LONG",
	[VT_DLG_CRONTAB_BUSY] = "CRONTAB_BUSY",
	[VT_DLG_UNABLE_TO_CREATE_NEW_CRONTAB] = "UNABLE_TO_CREATE_NEW_CRONTAB",
	[VT_DLG_IO_ERROR] = "IO_ERROR",
	[VT_DLG_BAD_PATH] = "BAD_PATH",
};
#define N_ERRORS (sizeof error_names / sizeof error_names[0])

const char *vt_dlg_error_name(enum vt_dlg_error e)
{
	if ((unsigned)e < N_ERRORS)
		return error_names[e];
	return "BAD_COMMAND";
}

/* The error word equal to s[0..n), or -1. */
static int error_word(const char *s, size_t n)
{
	for (size_t i = 0; i < N_ERRORS; i++)
		if (strlen(error_names[i]) == n && memcmp(error_names[i], s, n) == 0)
			return (int)i;
	return -1;
}

/* ---- telnet: IAC sequences are skipped on both sides ---- */

enum tn_state { TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC };

#define IAC  0xff
#define SB   0xfa
#define SE   0xf0

/* Feeds one byte; returns 1 with *c set when it is data. */
static int tn_byte(enum tn_state *st, unsigned char b, unsigned char *c)
{
	switch (*st) {
	case TN_DATA:
		if (b == IAC) {
			*st = TN_IAC;
			return 0;
		}
		*c = b;
		return 1;
	case TN_IAC:
		if (b == IAC) {                 /* escaped 0xff */
			*st = TN_DATA;
			*c = b;
			return 1;
		}
		if (b >= 0xfb)                  /* WILL, WONT, DO, DONT */
			*st = TN_OPT;
		else if (b == SB)
			*st = TN_SB;
		else
			*st = TN_DATA;
		return 0;
	case TN_OPT:
		*st = TN_DATA;
		return 0;
	case TN_SB:
		if (b == IAC)
			*st = TN_SB_IAC;
		return 0;
	case TN_SB_IAC:
		*st = b == SE ? TN_DATA : TN_SB;
		return 0;
	}
	return 0;
}

/* ---- batch ---- */

struct vt_dlg_batch {
	struct vt_buf text;
	int in_crontab;
};

struct vt_dlg_batch *vt_dlg_batch_new(void)
{
	struct vt_dlg_batch *b = calloc(1, sizeof *b);

	if (b)
		vt_buf_init(&b->text, 0);
	return b;
}

void vt_dlg_batch_free(struct vt_dlg_batch *b)
{
	if (!b)
		return;
	vt_buf_free(&b->text);
	free(b);
}

/* 1 when s is non-empty and free of '\r', '\n' and NUL-like controls. */
static int one_line(const char *s)
{
	if (!s || !*s)
		return 0;
	return strpbrk(s, "\r\n") == NULL;
}

/* Appends "<word> <a>[ <b>]\n" if it fits VT_DLG_LINE_MAX. */
static int batch_add(struct vt_dlg_batch *b, const char *word, const char *a,
		     const char *c)
{
	size_t n = strlen(word) + 1 + strlen(a) + (c ? 1 + strlen(c) : 0);

	if (n > VT_DLG_LINE_MAX)
		return VT_ETOOBIG;
	return vt_buf_addf(&b->text, "%s %s%s%s\n", word, a, c ? " " : "", c ? c : "");
}

int vt_dlg_batch_crontab(struct vt_dlg_batch *b, const char *path)
{
	int r;

	if (!one_line(path) || strchr(path, ' ') || strchr(path, '\t'))
		return VT_EINVAL;
	if ((r = batch_add(b, "CRONTAB", path, NULL)) == 0)
		b->in_crontab = 1;
	return r;
}

int vt_dlg_batch_cronline(struct vt_dlg_batch *b, const char *line)
{
	if (!b->in_crontab || !one_line(line))
		return VT_EINVAL;
	return batch_add(b, "CRONLINE", line, NULL);
}

int vt_dlg_batch_oneoff(struct vt_dlg_batch *b, const char *path,
			const char *command)
{
	int r;

	if (!one_line(path) || strchr(path, ' ') || strchr(path, '\t') ||
	    !one_line(command))
		return VT_EINVAL;
	if ((r = batch_add(b, "ONEOFF", path, command)) == 0)
		b->in_crontab = 0;
	return r;
}

int vt_dlg_batch_format(const struct vt_dlg_batch *b, struct vt_buf *out)
{
	size_t start = out->len;
	int r = vt_buf_add(out, b->text.data ? b->text.data : "", b->text.len);

	if (r == 0)
		r = vt_buf_addc(out, '\n');
	if (r < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

/* ---- controller's client ---- */

enum cl_state { CL_LOGIN, CL_PASSWORD, CL_RESULT, CL_DONE };

struct vt_dlg_client {
	enum cl_state state;
	enum tn_state tn;
	int result;                     /* final return once CL_DONE */
	enum vt_dlg_error error;
	size_t received;
	char *session_id;
	struct vt_buf batch;            /* formatted batch, final "\n" included */
	char line[VT_DLG_LINE_MAX + 1]; /* current line from the probe */
	size_t line_len;
};

int vt_dlg_client_new(const char *session_id, const struct vt_dlg_batch *batch,
		      struct vt_dlg_client **out)
{
	struct vt_dlg_client *c = NULL;
	int r;

	*out = NULL;
	if (!one_line(session_id) || !batch)
		return VT_EINVAL;
	if (!(c = calloc(1, sizeof *c)))
		return VT_ENOMEM;
	vt_buf_init(&c->batch, 0);
	if (!(c->session_id = strdup(session_id))) {
		r = VT_ENOMEM;
		goto out;
	}
	if ((r = vt_dlg_batch_format(batch, &c->batch)) < 0)
		goto out;
	c->state = CL_LOGIN;
	c->result = VT_EAGAIN;
	*out = c;
	c = NULL;
out:
	vt_dlg_client_free(c);
	return r;
}

void vt_dlg_client_free(struct vt_dlg_client *c)
{
	if (!c)
		return;
	free(c->session_id);
	vt_buf_free(&c->batch);
	free(c);
}

enum vt_dlg_error vt_dlg_client_error(const struct vt_dlg_client *c)
{
	return c->error;
}

static int client_finish(struct vt_dlg_client *c, int result, enum vt_dlg_error e)
{
	c->state = CL_DONE;
	c->result = result;
	c->error = e;
	return result;
}

/* 1 when the text ends with the prompt (trailing blanks ignored). */
static int ends_with_prompt(const char *s, size_t n, const char *prompt)
{
	size_t p = strlen(prompt);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n >= p && memcmp(s + n - p, prompt, p) == 0;
}

/* Acts on the prompt in the current (possibly partial) line. */
static int client_prompt(struct vt_dlg_client *c, struct vt_buf *out)
{
	int r;

	if (c->state == CL_LOGIN && ends_with_prompt(c->line, c->line_len, "login:")) {
		if ((r = vt_buf_adds(out, LOGIN_WORD "\n")) < 0)
			return r;
		c->state = CL_PASSWORD;
		c->line_len = 0;
	} else if (c->state == CL_PASSWORD &&
		   ends_with_prompt(c->line, c->line_len, "Password:")) {
		/* Nothing comes back on a good password: the batch follows
		 * at once. */
		if ((r = vt_buf_addf(out, "%s\n", c->session_id)) < 0 ||
		    (r = vt_buf_add(out, c->batch.data, c->batch.len)) < 0)
			return r;
		c->state = CL_RESULT;
		c->line_len = 0;
	}
	return VT_EAGAIN;
}

/* A complete line from the probe. */
static int client_line(struct vt_dlg_client *c, struct vt_buf *out)
{
	const char *s = c->line;
	size_t n = c->line_len;
	int w;

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (s[0] == ' ' || s[0] == '\t')) {
		s++;
		n--;
	}
	if (n == 0)
		return VT_EAGAIN;
	w = error_word(s, n);
	if (w == VT_DLG_OK && c->state == CL_RESULT)
		return client_finish(c, VT_OK, VT_DLG_OK);
	if (w == VT_DLG_BAD_PASSWORD)
		return client_finish(c, VT_EAUTH, VT_DLG_BAD_PASSWORD);
	if (w > 0)
		return client_finish(c, VT_EPROTO, (enum vt_dlg_error)w);
	if (c->state == CL_RESULT)       /* garbage where a word belongs */
		return client_finish(c, VT_EPROTO, VT_DLG_BAD_COMMAND);
	/* banner text before the prompts */
	return client_prompt(c, out);
}

int vt_dlg_client_feed(struct vt_dlg_client *c, const void *in, size_t len,
		       struct vt_buf *out)
{
	const unsigned char *p = in;
	size_t start = out->len;
	int r = VT_EAGAIN;

	if (c->state == CL_DONE)
		return c->result;
	if (len > CLIENT_MAX_IN - c->received) {
		client_finish(c, VT_ETOOBIG, VT_DLG_OK);
		return VT_ETOOBIG;
	}
	c->received += len;
	for (size_t i = 0; i < len && c->state != CL_DONE; i++) {
		unsigned char ch;

		if (!tn_byte(&c->tn, p[i], &ch))
			continue;
		if (ch == '\r' || ch == '\n') {
			if ((r = client_line(c, out)) != VT_EAGAIN)
				break;
			c->line_len = 0;
			continue;
		}
		if (c->line_len == VT_DLG_LINE_MAX) {
			/* a long banner line: keep its tail for prompts */
			memmove(c->line, c->line + VT_DLG_LINE_MAX / 2,
				VT_DLG_LINE_MAX / 2);
			c->line_len = VT_DLG_LINE_MAX / 2;
		}
		c->line[c->line_len++] = (char)ch;
	}
	if (r == VT_EAGAIN && c->state != CL_DONE)
		r = client_prompt(c, out);
	if (r < 0 && r != VT_EAGAIN && c->state != CL_DONE) {
		/* out of memory or over the cap of out */
		if (out->data) {
			out->len = start;
			out->data[start] = '\0';
		}
		return client_finish(c, r, VT_DLG_OK);
	}
	return r;
}

/* ---- probe's server ---- */

enum sv_state { SV_LOGIN, SV_PASSWORD, SV_COMMANDS, SV_DONE };

struct vt_dlg_server {
	enum sv_state state;
	enum tn_state tn;
	int result;
	vt_dlg_cmd_cb cb;
	void *arg;
	char *session_id;
	int in_crontab;
	char crontab[VT_DLG_LINE_MAX + 1];  /* path of the open crontab */
	char line[VT_DLG_LINE_MAX + 1];
	size_t line_len;
};

int vt_dlg_server_new(long probe_id, const char *host, const char *session_id,
		      vt_dlg_cmd_cb cb, void *arg, struct vt_dlg_server **out,
		      struct vt_buf *greeting)
{
	static const unsigned char opts[] = {
		0xff, 0xfd, 0x01, 0xff, 0xfd, 0x1f, 0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03
	};
	struct vt_dlg_server *s = NULL;
	size_t start = greeting->len;
	int r;

	*out = NULL;
	if (!host || strlen(host) > NAME_MAX_BYTES || !vt_session_id_valid(session_id) || !cb)
		return VT_EINVAL;
	for (const char *h = host; *h; h++)
		if ((unsigned char)*h < ' ' || (unsigned char)*h == 0x7f)
			return VT_EINVAL;
	if (!(s = calloc(1, sizeof *s)))
		return VT_ENOMEM;
	s->cb = cb;
	s->arg = arg;
	s->result = VT_EAGAIN;
	if (!(s->session_id = strdup(session_id))) {
		r = VT_ENOMEM;
		goto out;
	}
	if ((r = vt_buf_add(greeting, opts, sizeof opts)) < 0 ||
	    (r = vt_buf_addf(greeting, "Atlas probe, see http://atlas.ripe.net/\r\n\r\n"
			     "Probe %ld (%s) login: ", probe_id, host)) < 0) {
		if (greeting->data) {
			greeting->len = start;
			greeting->data[start] = '\0';
		}
		goto out;
	}
	*out = s;
	s = NULL;
out:
	vt_dlg_server_free(s);
	return r;
}

void vt_dlg_server_free(struct vt_dlg_server *s)
{
	if (!s)
		return;
	free(s->session_id);
	free(s);
}

static int server_end(struct vt_dlg_server *s, enum vt_dlg_error e, struct vt_buf *out)
{
	int r = vt_buf_addf(out, "%s\r\n\r\n", vt_dlg_error_name(e));

	s->state = SV_DONE;
	if (r < 0)
		s->result = r;
	else if (e == VT_DLG_OK)
		s->result = VT_OK;
	else
		s->result = e == VT_DLG_BAD_PASSWORD ? VT_EAUTH : VT_EPROTO;
	return s->result;
}

/* Equal without an early exit, so timing tells nothing of the secret. */
static int secret_eq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned char d = alen != blen;

	for (size_t i = 0; i < alen; i++)
		d |= (unsigned char)(a[i] ^ b[blen ? i % blen : 0]);
	return d == 0;
}

static enum vt_dlg_error server_cmd(struct vt_dlg_server *s, enum vt_dlg_cmd_type type,
				    const char *path, const char *line)
{
	struct vt_dlg_cmd cmd = { type, path, line };

	return s->cb(s->arg, &cmd);
}

/* Closes the open crontab, if any. */
static enum vt_dlg_error close_crontab(struct vt_dlg_server *s)
{
	if (!s->in_crontab)
		return VT_DLG_OK;
	s->in_crontab = 0;
	return server_cmd(s, VT_DLG_CMD_CRONTAB_END, s->crontab, NULL);
}

static int has_blank(const char *p)
{
	return strchr(p, ' ') || strchr(p, '\t');
}

/* A complete command line (NUL-terminated in s->line). */
static enum vt_dlg_error server_command(struct vt_dlg_server *s)
{
	char *l = s->line, *arg, *sp;
	enum vt_dlg_error e;

	if (strncmp(l, "CRONLINE ", 9) == 0) {
		if (!s->in_crontab)
			return VT_DLG_BAD_COMMAND;
		return server_cmd(s, VT_DLG_CMD_CRONLINE, s->crontab, l + 9);
	}
	if ((e = close_crontab(s)) != VT_DLG_OK)
		return e;
	if (strncmp(l, "CRONTAB ", 8) == 0) {
		arg = l + 8;
		if (!*arg || has_blank(arg))
			return VT_DLG_BAD_COMMAND;
		if (strlen(arg) > NAME_MAX_BYTES)
			return VT_DLG_NAME_TOO_LONG;
		if ((e = server_cmd(s, VT_DLG_CMD_CRONTAB, arg, NULL)) != VT_DLG_OK)
			return e;
		memcpy(s->crontab, arg, strlen(arg) + 1);
		s->in_crontab = 1;
		return VT_DLG_OK;
	}
	if (strncmp(l, "ONEOFF ", 7) == 0) {
		arg = l + 7;
		sp = strchr(arg, ' ');
		if (!sp || sp == arg || !sp[1])
			return VT_DLG_BAD_COMMAND;
		*sp = '\0';
		if (strchr(arg, '\t'))
			return VT_DLG_BAD_COMMAND;
		if (strlen(arg) > NAME_MAX_BYTES)
			return VT_DLG_NAME_TOO_LONG;
		return server_cmd(s, VT_DLG_CMD_ONEOFF, arg, sp + 1);
	}
	if (strcmp(l, "REBOOT") == 0)
		return server_cmd(s, VT_DLG_CMD_REBOOT, NULL, NULL);
	if (strcmp(l, "RELOAD") == 0)
		return server_cmd(s, VT_DLG_CMD_RELOAD, NULL, NULL);
	return VT_DLG_BAD_COMMAND;
}

/* A complete line from the controller. */
static int server_line(struct vt_dlg_server *s, struct vt_buf *out)
{
	enum vt_dlg_error e;
	int r;

	s->line[s->line_len] = '\0';
	switch (s->state) {
	case SV_LOGIN:
		if (s->line_len == 0)
			return VT_EAGAIN;
		if (strcmp(s->line, LOGIN_WORD) != 0)
			return server_end(s, VT_DLG_BAD_COMMAND, out);
		if ((r = vt_buf_adds(out, "\r\nPassword: ")) < 0) {
			s->state = SV_DONE;
			return s->result = r;
		}
		s->state = SV_PASSWORD;
		return VT_EAGAIN;
	case SV_PASSWORD:
		if (s->line_len == 0)
			return VT_EAGAIN;
		if (!secret_eq(s->line, s->line_len, s->session_id))
			return server_end(s, VT_DLG_BAD_PASSWORD, out);
		s->state = SV_COMMANDS;
		return VT_EAGAIN;
	case SV_COMMANDS:
		if (s->line_len == 0) {
			e = close_crontab(s);
			return server_end(s, e, out);
		}
		if ((e = server_command(s)) != VT_DLG_OK)
			return server_end(s, e, out);
		return VT_EAGAIN;
	case SV_DONE:
		break;
	}
	return s->result;
}

int vt_dlg_server_feed(struct vt_dlg_server *s, const void *in, size_t len,
		       struct vt_buf *out)
{
	const unsigned char *p = in;
	int r = VT_EAGAIN;

	for (size_t i = 0; i < len && s->state != SV_DONE; i++) {
		unsigned char ch;

		if (!tn_byte(&s->tn, p[i], &ch) || ch == '\0')
			continue;
		if (ch == '\r' || ch == '\n') {
			r = server_line(s, out);
			s->line_len = 0;
			continue;
		}
		if (s->line_len == VT_DLG_LINE_MAX) {
			r = server_end(s, s->state == SV_PASSWORD ? VT_DLG_BAD_PASSWORD :
				       VT_DLG_BAD_COMMAND, out);
			break;
		}
		s->line[s->line_len++] = (char)ch;
	}
	return s->state == SV_DONE ? s->result : r;
}

/* ---- legacy paths ---- */

int vt_dlg_map_path(const char *legacy, const char *root, char *out, size_t outlen)
{
	static const char prefix[] = "/home/atlas/";
	const char *rest, *p;
	size_t rlen, plen;

	if (!legacy || !root || !*root || !out)
		return VT_EINVAL;
	if (strncmp(legacy, prefix, sizeof prefix - 1) != 0)
		return VT_EINVAL;
	rest = legacy + sizeof prefix - 1;
	if (!*rest)
		return VT_EINVAL;
	/* every component non-empty, not "." or "..", at most 255 bytes */
	for (p = rest; ; ) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || n > NAME_MAX_BYTES ||
		    (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return VT_EINVAL;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
				return VT_EINVAL;
		if (!slash)
			break;
		p = slash + 1;
	}
	rlen = strlen(rest);
	plen = strlen(root);
	while (plen > 0 && root[plen - 1] == '/')
		plen--;
	if (plen + 1 + rlen + 1 > outlen)
		return VT_ETOOBIG;
	memcpy(out, root, plen);
	out[plen] = '/';
	memcpy(out + plen + 1, rest, rlen + 1);
	return VT_OK;
}
