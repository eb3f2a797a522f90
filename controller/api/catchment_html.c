/* catchment_html.c - the catchment page (catchment.h): per-site bars, the
 * site and probe tables, a time strip of each probe's site and the list of
 * changes.  One HTML document with inline CSS and SVG: no script, no
 * outside asset (not even a favicon), so it works on a machine without
 * internet and under a Content-Security-Policy of default-src 'none'. */
#include <stdio.h>
#include <string.h>

#include "controller/api/catchment.h"
#include "storage/catchment.h"

#define BAR_W   480     /* px of the widest site bar */
#define STRIP_W 720     /* px of the time axis */
#define ROW_H   18

static const char *const COLORS[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};
#define NCOLORS (sizeof COLORS / sizeof *COLORS)

/* Text with &, <, >, " and ' escaped. */
static int esc(struct vt_buf *b, const char *s)
{
	int rc = 0;

	for (; s && *s && rc == 0; s++) {
		switch (*s) {
		case '&': rc = vt_buf_adds(b, "&amp;"); break;
		case '<': rc = vt_buf_adds(b, "&lt;"); break;
		case '>': rc = vt_buf_adds(b, "&gt;"); break;
		case '"': rc = vt_buf_adds(b, "&quot;"); break;
		case '\'': rc = vt_buf_adds(b, "&#39;"); break;
		default: rc = vt_buf_addc(b, *s);
		}
	}
	return rc;
}

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long num(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}



/* The colour of a site: its index among the sorted sites. */
static const char *color(const json_t *sites, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(sites, i, s)
		if (!strcmp(str(s, "site"), name))
			return COLORS[i % NCOLORS];
	return "#cccccc";
}

static int head(const json_t *v, struct vt_buf *b)
{
	char t1[32], t2[32];
	int rc = 0;

	rc |= vt_buf_addf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
			  "<meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\">"
			  "<title>Catchment of measurement %lld</title>\n<style>\n"
			  "body{font-family:sans-serif;margin:1.5em;color:#222}"
			  "table{border-collapse:collapse;margin:.5em 0 1.5em}"
			  "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;"
			  "font-size:13px}th{background:#f0f0f0}"
			  ".sw{display:inline-block;width:10px;height:10px;margin-right:4px}"
			  "svg text{font-size:12px;font-family:sans-serif}"
			  "h2{font-size:1.1em;margin-top:1.5em}\n</style></head><body>\n",
			  num(v, "msm_id"));
	rc |= vt_buf_addf(b, "<h1>Catchment of measurement %lld</h1>\n<p id=\"summary\">"
			  "%lld results, %lld naming a site, %lld without (timeouts, "
			  "errors, no identity); %zu sites, %zu probes, %zu changes of site",
			  num(v, "msm_id"), num(v, "results"), num(v, "answered"),
			  num(v, "unanswered"),
			  json_array_size(json_object_get(v, "sites")),
			  json_array_size(json_object_get(v, "probes")),
			  json_array_size(json_object_get(v, "changes")));
	if (num(v, "start") > 0 || json_is_integer(json_object_get(v, "stop")))
		rc |= vt_buf_addf(b, "; from %s to %s UTC", vt_catch_fmt_time(num(v, "start"), t1, sizeof t1),
				  json_is_integer(json_object_get(v, "stop")) ?
				  vt_catch_fmt_time(num(v, "stop"), t2, sizeof t2) : "now");
	if (json_is_integer(json_object_get(v, "ping_msm_id")))
		rc |= vt_buf_addf(b, "; ping latency from measurement %lld",
				  num(v, "ping_msm_id"));
	rc |= vt_buf_adds(b, ".</p>\n");
	return rc ? VT_ENOMEM : 0;
}

static int bars(const json_t *v, struct vt_buf *b)
{
	const json_t *sites = json_object_get(v, "sites");
	long long max = 1;
	char m1[32], m2[32];
	size_t i, n = json_array_size(sites);
	json_t *s;
	int rc = 0;

	json_array_foreach(sites, i, s)
		if (num(s, "probe_count") > max)
			max = num(s, "probe_count");
	rc |= vt_buf_addf(b, "<h2>Probes per site (now)</h2>\n<svg id=\"site-bars\" "
			  "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
			  "role=\"img\">\n", 220 + BAR_W + 320, n * 26 + 8);
	json_array_foreach(sites, i, s) {
		long long w = num(s, "probe_count") * BAR_W / max;
		int y = (int)i * 26 + 4;

		rc |= vt_buf_adds(b, "<g class=\"site\"><text x=\"0\" y=\"");
		rc |= vt_buf_addf(b, "%d\">", y + 14);
		rc |= esc(b, str(s, "site"));
		rc |= vt_buf_addf(b, "</text><rect x=\"220\" y=\"%d\" width=\"%lld\" "
				  "height=\"20\" fill=\"%s\"/><text x=\"%lld\" y=\"%d\">"
				  "%lld probe%s, median %s ms, p90 %s ms</text></g>\n",
				  y, w > 0 ? w : 1, COLORS[i % NCOLORS], 228 + w, y + 14,
				  num(s, "probe_count"), num(s, "probe_count") == 1 ? "" : "s",
				  vt_catch_fmt_ms(json_object_get(s, "rtt_median"), m1, sizeof m1),
				  vt_catch_fmt_ms(json_object_get(s, "rtt_p90"), m2, sizeof m2));
	}
	rc |= vt_buf_adds(b, "</svg>\n");
	return rc ? VT_ENOMEM : 0;
}

/* Elements of a JSON array of strings or integers, comma separated. */
static int list(struct vt_buf *b, const json_t *a)
{
	size_t i;
	json_t *e;
	int rc = 0;

	json_array_foreach(a, i, e) {
		if (i)
			rc |= vt_buf_adds(b, ", ");
		if (json_is_integer(e))
			rc |= vt_buf_addf(b, "%lld", (long long)json_integer_value(e));
		else
			rc |= esc(b, json_string_value(e));
	}
	return rc;
}

static int site_table(const json_t *v, struct vt_buf *b)
{
	const json_t *sites = json_object_get(v, "sites");
	int ping = json_is_integer(json_object_get(v, "ping_msm_id"));
	char m1[32], m2[32];
	size_t i;
	json_t *s;
	int rc = 0;

	rc |= vt_buf_addf(b, "<table id=\"sites\"><tr><th>site</th><th>probes</th>"
			  "<th>results</th><th>median RTT (ms)</th><th>p90 RTT (ms)</th>"
			  "<th>countries</th><th>ASNs</th>%s</tr>\n",
			  ping ? "<th>ping median (ms)</th><th>ping p90 (ms)</th>" : "");
	json_array_foreach(sites, i, s) {
		rc |= vt_buf_addf(b, "<tr><td><span class=\"sw\" style=\"background:%s\">"
				  "</span>", COLORS[i % NCOLORS]);
		rc |= esc(b, str(s, "site"));
		rc |= vt_buf_addf(b, "</td><td>%lld</td><td>%lld</td><td>%s</td><td>%s</td><td>",
				  num(s, "probe_count"), num(s, "results"),
				  vt_catch_fmt_ms(json_object_get(s, "rtt_median"), m1, sizeof m1),
				  vt_catch_fmt_ms(json_object_get(s, "rtt_p90"), m2, sizeof m2));
		rc |= list(b, json_object_get(s, "countries"));
		rc |= vt_buf_adds(b, "</td><td>");
		rc |= list(b, json_object_get(s, "asns"));
		rc |= vt_buf_adds(b, "</td>");
		if (ping)
			rc |= vt_buf_addf(b, "<td>%s</td><td>%s</td>",
					  vt_catch_fmt_ms(json_object_get(s, "ping_median"), m1, sizeof m1),
					  vt_catch_fmt_ms(json_object_get(s, "ping_p90"), m2, sizeof m2));
		rc |= vt_buf_adds(b, "</tr>\n");
	}
	rc |= vt_buf_adds(b, "</table>\n");
	return rc ? VT_ENOMEM : 0;
}

static int probe_table(const json_t *v, struct vt_buf *b)
{
	const json_t *sites = json_object_get(v, "sites");
	int ping = json_is_integer(json_object_get(v, "ping_msm_id"));
	char m1[32], t1[32];
	size_t i;
	json_t *p;
	int rc = 0;

	rc |= vt_buf_addf(b, "<h2>Probes</h2>\n<table id=\"probes\"><tr><th>probe</th>"
			  "<th>site now</th><th>RTT now (ms)</th><th>newest answer (UTC)"
			  "</th><th>country</th><th>ASN</th><th>results</th>"
			  "<th>unanswered</th><th>changes</th>%s</tr>\n",
			  ping ? "<th>ping avg (ms)</th>" : "");
	json_array_foreach(json_object_get(v, "probes"), i, p) {
		const char *site = str(p, "site");

		rc |= vt_buf_addf(b, "<tr><td>%lld</td><td>", num(p, "prb_id"));
		if (*site) {
			rc |= vt_buf_addf(b, "<span class=\"sw\" style=\"background:%s\">"
					  "</span>", color(sites, site));
			rc |= esc(b, site);
		} else
			rc |= vt_buf_adds(b, "-");
		rc |= vt_buf_addf(b, "</td><td>%s</td><td>%s</td><td>",
				  vt_catch_fmt_ms(json_object_get(p, "rtt"), m1, sizeof m1),
				  vt_catch_fmt_time(num(p, "timestamp"), t1, sizeof t1));
		rc |= esc(b, *str(p, "country_code") ? str(p, "country_code") : "-");
		if (num(p, "asn") > 0)
			rc |= vt_buf_addf(b, "</td><td>%lld", num(p, "asn"));
		else
			rc |= vt_buf_adds(b, "</td><td>-");
		rc |= vt_buf_addf(b, "</td><td>%lld</td><td>%lld</td><td>%lld</td>",
				  num(p, "results"), num(p, "unanswered"), num(p, "changes"));
		if (ping)
			rc |= vt_buf_addf(b, "<td>%s</td>",
					  vt_catch_fmt_ms(json_object_get(p, "ping_avg"), m1, sizeof m1));
		rc |= vt_buf_adds(b, "</tr>\n");
	}
	rc |= vt_buf_adds(b, "</table>\n");
	return rc ? VT_ENOMEM : 0;
}

static int seg(struct vt_buf *b, long long t0, long long t1, long long lo,
	       long long span, int y, const char *fill, const char *title)
{
	long long x0 = 80 + (t0 - lo) * STRIP_W / span;
	long long x1 = 80 + (t1 - lo) * STRIP_W / span;
	int rc;

	rc = vt_buf_addf(b, "<rect x=\"%lld\" y=\"%d\" width=\"%lld\" height=\"%d\" "
			 "fill=\"%s\"><title>", x0, y, x1 - x0 > 2 ? x1 - x0 : 2,
			 ROW_H - 4, fill);
	rc |= esc(b, title);
	rc |= vt_buf_adds(b, "</title></rect>");
	return rc;
}

/* One row per probe: its site over time, the gaps of each change in grey. */
static int strip(const json_t *v, struct vt_buf *b)
{
	const json_t *sites = json_object_get(v, "sites");
	const json_t *probes = json_object_get(v, "probes");
	const json_t *changes = json_object_get(v, "changes");
	long long lo = 0, hi = 0, span;
	char t1[32], t2[32];
	size_t i, k, n = json_array_size(probes);
	json_t *p, *ch;
	int rc = 0, y;

	json_array_foreach(probes, i, p) {
		if (!json_is_string(json_object_get(p, "site")))
			continue;
		if (!lo || num(p, "first_timestamp") < lo)
			lo = num(p, "first_timestamp");
		if (num(p, "timestamp") > hi)
			hi = num(p, "timestamp");
	}
	span = hi > lo ? hi - lo : 1;
	rc |= vt_buf_addf(b, "<h2>Site of each probe over time</h2>\n<svg id=\"time-strip\" "
			  "xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
			  "role=\"img\">\n", 80 + STRIP_W + 20, n * ROW_H + 40);
	json_array_foreach(probes, i, p) {
		long long from, prb = num(p, "prb_id");
		const char *cur = str(p, "site");

		y = (int)i * ROW_H + 4;
		rc |= vt_buf_addf(b, "<g class=\"probe\"><text x=\"0\" y=\"%d\">probe %lld"
				  "</text>", y + 11, prb);
		if (!*cur) {
			rc |= vt_buf_adds(b, "</g>\n");
			continue;
		}
		from = num(p, "first_timestamp");
		json_array_foreach(changes, k, ch) {
			if (num(ch, "prb_id") != prb)
				continue;
			rc |= seg(b, from, num(ch, "last_before"), lo, span, y,
				  color(sites, str(ch, "from")), str(ch, "from"));
			rc |= seg(b, num(ch, "last_before"), num(ch, "first_after"), lo,
				  span, y, "#dddddd", "change");
			from = num(ch, "first_after");
		}
		rc |= seg(b, from, num(p, "timestamp"), lo, span, y, color(sites, cur), cur);
		rc |= vt_buf_adds(b, "</g>\n");
	}
	y = (int)n * ROW_H + 4;
	rc |= vt_buf_addf(b, "<line x1=\"80\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
			  "<text x=\"80\" y=\"%d\">%s</text><text x=\"%d\" y=\"%d\" "
			  "text-anchor=\"end\">%s UTC</text>\n</svg>\n", y, 80 + STRIP_W, y,
			  y + 16, vt_catch_fmt_time(lo, t1, sizeof t1), 80 + STRIP_W, y + 16,
			  vt_catch_fmt_time(hi, t2, sizeof t2));
	/* the legend, then every change */
	rc |= vt_buf_adds(b, "<p id=\"legend\">");
	json_array_foreach(sites, i, p) {
		rc |= vt_buf_addf(b, "<span class=\"sw\" style=\"background:%s\"></span>",
				  COLORS[i % NCOLORS]);
		rc |= esc(b, str(p, "site"));
		rc |= vt_buf_adds(b, " &nbsp; ");
	}
	rc |= vt_buf_adds(b, "<span class=\"sw\" style=\"background:#dddddd\"></span>"
			  "between the last result before a change and the first after</p>\n");
	rc |= vt_buf_adds(b, "<h2>Changes of site</h2>\n<table id=\"changes\"><tr>"
			  "<th>probe</th><th>from</th><th>to</th><th>last result before (UTC)"
			  "</th><th>first result after (UTC)</th></tr>\n");
	json_array_foreach(changes, i, ch) {
		rc |= vt_buf_addf(b, "<tr><td>%lld</td><td>", num(ch, "prb_id"));
		rc |= esc(b, str(ch, "from"));
		rc |= vt_buf_adds(b, "</td><td>");
		rc |= esc(b, str(ch, "to"));
		rc |= vt_buf_addf(b, "</td><td>%s</td><td>%s</td></tr>\n",
				  vt_catch_fmt_time(num(ch, "last_before"), t1, sizeof t1),
				  vt_catch_fmt_time(num(ch, "first_after"), t2, sizeof t2));
	}
	rc |= vt_buf_adds(b, "</table>\n");
	if (json_is_true(json_object_get(v, "changes_truncated")))
		rc |= vt_buf_adds(b, "<p>More changes than shown (the list is capped).</p>\n");
	return rc ? VT_ENOMEM : 0;
}

int vt_catch_html(const json_t *view, struct vt_buf *out)
{
	if (head(view, out) < 0 || bars(view, out) < 0 || site_table(view, out) < 0 ||
	    probe_table(view, out) < 0 || strip(view, out) < 0 ||
	    vt_buf_adds(out, "</body></html>\n") < 0)
		return VT_ENOMEM;
	return 0;
}
