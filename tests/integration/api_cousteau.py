"""Cousteau (Debian's python3-ripe-atlas-cousteau) against vantage-api over
HTTPS: run by api_cousteau.sh with /usr/bin/python3.  Prints "ok - ..." and
"not ok - ..." lines.

Environment: API_SERVER (127.0.0.1:PORT of the HTTPS listener), KEY_ALL (all
grants), KEY_NONE (no grant), KEY_CREATE (create only), P1..P4 (probe ids),
PING, PRIV (measurement ids with results), EXPECT (folder of expected
result lines), VANTAGE_DB."""
import json
import os
import subprocess
import sys
import warnings

warnings.filterwarnings("ignore")

from ripe.atlas.cousteau import (AnchorRequest, AtlasChangeRequest,
                                 AtlasChangeSource, AtlasCreateRequest,
                                 AtlasLatestRequest, AtlasResultsRequest,
                                 AtlasSource, AtlasStopRequest, Dns,
                                 Measurement, MeasurementRequest, Ping, Probe,
                                 ProbeRequest, Traceroute)
from ripe.atlas.cousteau.measurement_tagging import MeasurementTagger

E = os.environ
S = dict(server=E["API_SERVER"], verify=False)
P1, P2, P3, P4 = (int(E["P%d" % i]) for i in range(1, 5))
PING, PRIV = int(E["PING"]), int(E["PRIV"])
KEY_ALL, KEY_NONE, KEY_CREATE = E["KEY_ALL"], E["KEY_NONE"], E["KEY_CREATE"]
failed = 0


def check(desc, cond, extra=""):
    global failed
    if cond:
        print("ok - %s" % desc)
    else:
        failed += 1
        print("not ok - %s %s" % (desc, extra))
    sys.stdout.flush()


def sql(q):
    return subprocess.run(["psql", E["VANTAGE_DB"], "-qtAX", "-c", q],
                          check=True, capture_output=True,
                          text=True).stdout.strip()


def expected(name):
    with open(os.path.join(E["EXPECT"], name)) as f:
        return [json.loads(line) for line in f if line.strip()]


def ids(gen):
    return sorted(o["id"] for o in gen)


# --- results and latest -------------------------------------------------
ok, res = AtlasResultsRequest(msm_id=PING, **S).create()
want = expected("all")
check("results: all of them, as stored, in time order", ok and res == want,
      "(%d got, %d want)" % (len(res) if ok else -1, len(want)))
check("results: ascending (timestamp, prb_id)",
      ok and [(r["timestamp"], r["prb_id"]) for r in res] ==
      sorted((r["timestamp"], r["prb_id"]) for r in res))
t = want[len(want) // 2]["timestamp"]
ok, res = AtlasResultsRequest(msm_id=PING, start=t, stop=t + 600,
                              probe_ids=[P1], **S).create()
check("results: start, stop and one probe", ok and res == [
    r for r in want if t <= r["timestamp"] <= t + 600 and r["prb_id"] == P1]
    and len(res) > 0)
ok, res = AtlasResultsRequest(msm_id=PING, probe_ids=[P1, P2], **S).create()
check("results: several probes", ok and res == [
    r for r in want if r["prb_id"] in (P1, P2)])
ok, res = AtlasResultsRequest(msm_id=PING, start=1, stop=2, **S).create()
check("results: none in range is []", ok and res == [])
ok, res = AtlasResultsRequest(msm_id=PRIV, **S).create()
check("results of a private measurement need a key", not ok and
      res["error"]["status"] == 403)
ok, res = AtlasResultsRequest(msm_id=PRIV, key=KEY_ALL, **S).create()
check("results of a private measurement with a results key",
      ok and res == expected("priv"))
ok, res = AtlasResultsRequest(msm_id=PRIV, key=KEY_NONE, **S).create()
check("results of a private measurement with a key without the grant: 403",
      not ok and res["error"]["status"] == 403)
ok, res = AtlasResultsRequest(msm_id=PING, key="00000000-0000-4000-8000-000000000000",
                              **S).create()
check("an unknown key is a 401 with RIPE's detail", not ok and
      res["error"]["status"] == 401 and
      res["error"]["detail"] == "The provided API key does not exist")

ok, res = AtlasLatestRequest(msm_id=PING, **S).create()
want = expected("latest")
check("latest: a flat array, newest per probe", ok and isinstance(res, list)
      and sorted(res, key=lambda r: r["prb_id"]) == want, str(res)[:200])
ok, res = AtlasLatestRequest(msm_id=PING, probe_ids=[P2], **S).create()
check("latest: probe_ids", ok and res == [r for r in want if r["prb_id"] == P2])

# --- measurement objects and the list -------------------------------------
m = Measurement(id=PING, **S)
check("measurement: type, status, times", m.type == "ping" and
      m.status == "Ongoing" and m.start_time is not None and
      m.result_url.endswith("/api/v2/measurements/%d/results/" % PING))
check("measurement: target, af, interval",
      m.target == "192.0.2.53" and m.protocol == 4 and m.interval == 240)
m = Measurement(id=PING, fields=["status"], **S)
check("measurement: fields", set(m.meta_data) == {"id", "status"})
try:
    Measurement(id=PRIV, **S)
    check("a private measurement is not shown without a key", False)
except Exception:
    check("a private measurement is not shown without a key", True)
check("a private measurement with a results key",
      Measurement(id=PRIV, key=KEY_ALL, **S).is_public is False)

allpub = ids(MeasurementRequest(**S))
check("measurement list: every public one (%d), across pages" % len(allpub),
      allpub == ids(MeasurementRequest(page_size=2, **S)) and len(allpub) >= 8 and
      PRIV not in allpub)
gen = MeasurementRequest(page_size=3, type="ping", **S)
got = ids(gen)
check("measurement list: type=ping across pages, count", got == sorted(
    int(x) for x in sql("SELECT id FROM measurements WHERE type = 'ping' AND"
                        " is_public").split()) and gen.total_count == len(got))
got = ids(MeasurementRequest(page_size=2, tags="api-test", status=2, **S))
check("measurement list: tags and status", got == sorted(
    int(x) for x in sql("SELECT id FROM measurements WHERE 'api-test' = ANY"
                        " (tags) AND status = 2 AND is_public").split()) and got)
got = ids(MeasurementRequest(id__in="%d,%d" % (PING, PRIV), **S))
check("measurement list: id__in", got == [PING])
got = ids(MeasurementRequest(search="listed", is_oneoff=False, af=4, **S))
check("measurement list: search, is_oneoff, af", got == sorted(
    int(x) for x in sql("SELECT id FROM measurements WHERE description LIKE"
                        " '%listed%' AND NOT is_oneoff AND af = 4 AND"
                        " is_public").split()) and got)
got = ids(MeasurementRequest(start_time__gt=1, stop_time__lt=4102444800, **S))
check("measurement list: start_time__gt, stop_time__lt", all(
    isinstance(i, int) for i in got))
got = [o["id"] for o in MeasurementRequest(sort="-id", page_size=2,
                                           optional_fields="probes", **S)]
check("measurement list: sort and optional_fields=probes",
      got == sorted(got, reverse=True))

# --- probes and anchors -----------------------------------------------------
check("probe list: tags (all of them)",
      ids(ProbeRequest(tags="home,fiber", **S)) == [P1])
check("probe list: country_code", ids(ProbeRequest(country_code="NL", **S)) ==
      sorted([P1, P2]))
check("probe list: asn", ids(ProbeRequest(asn=64496, **S)) == sorted([P1, P3]))
check("probe list: asn_v4", ids(ProbeRequest(asn_v4=64497, **S)) == [P2])
check("probe list: radius 50 km around Amsterdam",
      ids(ProbeRequest(radius="52.37,4.89:50", **S)) == sorted([P1, P2]))
check("probe list: radius 500 km", ids(ProbeRequest(radius="52.37,4.89:500",
                                                    **S)) == sorted([P1, P2, P3]))
check("probe list: prefix_v4 containment",
      ids(ProbeRequest(prefix_v4="192.0.2.0/23", **S)) == [P4])
check("probe list: is_anchor", ids(ProbeRequest(is_anchor=True, **S)) == [P3])
check("probe list: status connected", ids(ProbeRequest(status=1, **S)) == [P1])
check("probe list: system tag", P1 in ids(ProbeRequest(tags="system-ipv4-works", **S)))
n = int(sql("SELECT count(*) FROM probes"))
check("probe list across pages (%d)" % n, len(ids(ProbeRequest(page_size=3, **S))) == n)
p = Probe(id=P1, **S)
check("probe: object", p.country_code == "NL" and p.asn_v4 == 64496 and
      p.status == "Connected" and p.geometry["coordinates"] == [4.89, 52.37]
      and {"name": "home", "slug": "home"} in p.tags)
anchors = list(AnchorRequest(**S))
check("anchors", [a["id"] for a in anchors] == [P3] and
      anchors[0]["type"] == "Anchor" and anchors[0]["country"] == "DE")
ok, a = __import__("ripe.atlas.cousteau.request", fromlist=["x"]).AtlasRequest(
    url_path="/api/v2/anchors/%d/" % P3, **S).get()
check("anchor object", ok and a["probe"] == P3)

# --- create, stop, participation, tags ------------------------------------------
src = AtlasSource(type="country", value="NL", requested=2,
                  tags={"include": ["system-ipv4-works"], "exclude": []})
ping = Ping(af=4, target="192.0.2.53", description="cousteau ping")
tr = Traceroute(af=4, target="192.0.2.53", description="cousteau traceroute",
                protocol="ICMP")
dns = Dns(af=4, target="192.0.2.53", description="cousteau chaos",
          query_class="CHAOS", query_type="TXT", query_argument="id.server")
n0 = sql("SELECT count(*) FROM measurements")
ok, res = AtlasCreateRequest(measurements=[ping], sources=[src], **S).create()
check("create without a key: 403", not ok and res["error"]["status"] == 403)
ok, res = AtlasCreateRequest(measurements=[ping], sources=[src], key=KEY_NONE,
                             **S).create()
check("create with a key without the grant: 403", not ok and
      res["error"]["status"] == 403)
check("nothing created by the refusals", sql("SELECT count(*) FROM measurements") == n0)
ok, res = AtlasCreateRequest(measurements=[ping, tr, dns], sources=[src],
                             key=KEY_CREATE, **S).create()
check("create: ping, traceroute and DNS CHAOS id.server (201, three ids)",
      ok and len(res.get("measurements", [])) == 3, str(res))
if ok:
    pid, tid, did = res["measurements"]
    row = sql("SELECT type || ' ' || (definition->>'query_class') || ' ' ||"
              " (definition->>'query_argument') FROM measurements WHERE id = %d"
              % did)
    check("create: the DNS definition is stored", row == "dns CHAOS id.server")
    check("create: the probe spec became a participation request",
          sql("SELECT type || ' ' || value || ' ' || requested || ' ' ||"
              " array_to_string(tags_include, ',') FROM participation_requests"
              " WHERE msm_id = %d" % pid) == "country NL 2 system-ipv4-works")
    check("create: traceroute's protocol", sql(
        "SELECT definition->>'protocol' FROM measurements WHERE id = %d" % tid)
        == "ICMP")
    check("create: the measurement object answers", Measurement(
        id=tid, **S).type == "traceroute")
    mine = ids(MeasurementRequest(mine=True, **S))
    check("mine without a key lists none", mine == [])

    ok, res = AtlasStopRequest(msm_id=pid, key=KEY_CREATE, **S).create()
    check("stop with a key without the stop grant: 403", not ok and
          res["error"]["status"] == 403)
    ok, res = AtlasStopRequest(msm_id=pid, key=KEY_ALL, **S).create()
    check("stop (204)", ok and sql(
        "SELECT status FROM measurements WHERE id = %d" % pid) == "4")
    ok, res = AtlasStopRequest(msm_id=999999999, key=KEY_ALL, **S).create()
    check("stop an unknown measurement: 404", not ok and res["error"]["status"] == 404)

    add = AtlasChangeSource(action="add", type="probes", value=str(P2), requested=1)
    rm = AtlasChangeSource(action="remove", type="probes", value=str(P1), requested=1)
    ok, res = AtlasChangeRequest(msm_id=tid, sources=[add], **S).create()
    check("participation without a key: 403", not ok and
          res["error"]["status"] == 403)
    ok, res = AtlasChangeRequest(msm_id=tid, sources=[add, rm], key=KEY_ALL,
                                 **S).create()
    check("participation add and remove (201, two request ids)",
          ok and len(res.get("request_ids", [])) == 2, str(res))
    check("participation requests stored", sql(
        "SELECT string_agg(action || ':' || value, ' ' ORDER BY id) FROM"
        " participation_requests WHERE msm_id = %d AND id >= %d" %
        (tid, res["request_ids"][0] if ok else 0)) == "add:%d remove:%d" % (P2, P1))
    ok, res = AtlasChangeRequest(msm_id=pid, sources=[add], key=KEY_ALL,
                                 **S).create()
    check("participation in a stopped measurement is refused (400)",
          not ok and res["error"]["status"] == 400 and
          "cannot change any more" in res["error"]["detail"])

    tagger = MeasurementTagger(server=S["server"], verify=False, key=KEY_ALL)
    ok, res = tagger.add_tag(msm_id=tid, tag="from-cousteau")
    check("tag added", ok and "from-cousteau" in sql(
        "SELECT array_to_string(tags, ',') FROM measurements WHERE id = %d" % tid))
    ok, res = tagger.remove_tag(msm_id=tid, tag="from-cousteau")
    check("tag removed", ok and "from-cousteau" not in sql(
        "SELECT array_to_string(tags, ',') FROM measurements WHERE id = %d" % tid))
    ok, res = MeasurementTagger(server=S["server"], verify=False).add_tag(
        msm_id=tid, tag="x")
    check("tags need the tags grant", not ok and res["error"]["status"] == 403)

sys.exit(1 if failed else 0)
