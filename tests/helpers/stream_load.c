/* stream_load - many subscribers of one measurement on vantage-api's live
 * stream, for tests/bench/stream.sh (libwebsockets client, one thread).
 *
 *   stream_load HOST PORT MSM CLIENTS RESULTS READYFILE [TIMEOUT_S]
 *
 * Opens CLIENTS WebSocket connections to ws://HOST:PORT/stream/, each
 * subscribes to MSM; once every one is subscribed it creates READYFILE.
 * It ends when each client has RESULTS atlas_result messages (or at
 * TIMEOUT_S, default 600, or when every client is gone) and prints
 *   delivered N first_ms last_ms errors E closed C
 * N results in all, the wall clock (ms since the epoch) of the first and
 * the last one, E atlas_error messages, C clients the server closed
 * early.  Exit 0 when every client got RESULTS. */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

struct cl {
	struct lws *wsi;
	long got;
	int subscribed, sent, closed, in_msg, msg_is_result, msg_is_sub;
};

static struct cl *cls;
static int nclients, nsub, ndone, nclosed, nerrors;
static long want;
static long long total, first_ms, last_ms;
static long long msm;
static const char *ready;

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
	      void *in, size_t len)
{
	struct cl *c = lws_get_opaque_user_data(wsi);
	char buf[LWS_PRE + 128];
	int n;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!c || c->sent)
			break;
		n = snprintf(buf + LWS_PRE, sizeof buf - LWS_PRE,
			     "[\"atlas_subscribe\",{\"stream_type\":\"result\",\"msm\":%lld}]", msm);
		if (lws_write(wsi, (unsigned char *)buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n)
			return -1;
		c->sent = 1;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!c)
			break;
		if (!c->in_msg) {
			c->in_msg = 1;
			c->msg_is_result = len >= 14 && !memcmp(in, "[\"atlas_result", 14);
			c->msg_is_sub = len >= 18 && !memcmp(in, "[\"atlas_subscribed", 18);
			if (len >= 13 && !memcmp(in, "[\"atlas_error", 13))
				nerrors++;
		}
		if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
			break;
		c->in_msg = 0;
		if (c->msg_is_sub && !c->subscribed) {
			c->subscribed = 1;
			if (++nsub == nclients) {
				FILE *f = fopen(ready, "w");

				if (f)
					fclose(f);
			}
		}
		if (c->msg_is_result) {
			long long t = now_ms();

			if (!first_ms)
				first_ms = t;
			last_ms = t;
			total++;
			if (++c->got == want)
				ndone++;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c && !c->closed) {
			c->closed = 1;
			nclosed++;
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "stream-load", cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_context *ctx;
	time_t end;
	int early = 0;

	if (argc < 7) {
		fprintf(stderr, "usage: stream_load HOST PORT MSM CLIENTS RESULTS READYFILE [TIMEOUT_S]\n");
		return 2;
	}
	msm = atoll(argv[3]);
	nclients = atoi(argv[4]);
	want = atol(argv[5]);
	ready = argv[6];
	end = time(NULL) + (argc > 7 ? atoi(argv[7]) : 600);
	if (nclients <= 0 || want <= 0 || !(cls = calloc((size_t)nclients, sizeof *cls)))
		return 2;
	lws_set_log_level(LLL_ERR, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.fd_limit_per_thread = (unsigned)nclients + 16;
	if (!(ctx = lws_create_context(&info)))
		return 1;
	for (int i = 0; i < nclients; i++) {
		struct lws_client_connect_info ci;

		memset(&ci, 0, sizeof ci);
		ci.context = ctx;
		ci.address = argv[1];
		ci.port = atoi(argv[2]);
		ci.path = "/stream/";
		ci.host = argv[1];
		ci.origin = argv[1];
		ci.protocol = NULL;
		ci.opaque_user_data = &cls[i];
		cls[i].wsi = lws_client_connect_via_info(&ci);
	}
	while (ndone < nclients && nclosed < nclients && time(NULL) < end)
		lws_service(ctx, 0);
	for (int i = 0; i < nclients; i++)
		early += cls[i].closed && cls[i].got < want;
	printf("delivered %lld first_ms %lld last_ms %lld errors %d closed %d\n",
	       total, first_ms, last_ms, nerrors, early);
	lws_context_destroy(ctx);
	free(cls);
	return ndone == nclients ? 0 : 1;
}
