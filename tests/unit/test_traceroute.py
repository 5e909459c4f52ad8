"""Traceroute/mtr parsing and entry-point inference (``dashboard.domain.traceroute``,
``dashboard.domain.observe``, ``dashboard.domain.metros``) on realistic samples of every format
(``tests/data/traces``, written for these tests: documentation addresses, no measurement data),
plus properties: the parser never raises on arbitrary text and respects its caps."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.domain.metros import METROS, metro_for_token
from dashboard.domain.observe import (MAX_CSV_CHARS, MAX_MEASUREMENTS, compare, error_summary,
                                      hostname_metros, infer_entry, parse_measurements)
from dashboard.domain.traceroute import MAX_HOPS, MAX_TRACE_CHARS, parse_trace
from tests.conftest import ROOT

TRACES = ROOT / "tests" / "data" / "traces"
BERLIN, LYON, SINGAPORE, SAN_JOSE, OSAKA, RESTON = ((52.52, 13.405), (45.764, 4.8357),
                                                    (1.35, 103.82), (37.3, -121.9),
                                                    (34.69, 135.50), (38.96, -77.34))


def trace(name: str):
    return parse_trace((TRACES / name).read_text())


def infer(catalog, name: str, client=None):
    return infer_entry(trace(name), catalog.pop_ids, catalog.pop_lats, catalog.pop_lons, client)


# -- parsers -------------------------------------------------------------------------------------

def test_linux_traceroute_keeps_every_responder_and_the_best_probe():
    t = trace("traceroute_linux.txt")
    assert (t.fmt, t.target, t.target_ip, t.problem) == ("traceroute", "203.0.113.10",
                                                        "203.0.113.10", "")
    assert [h.number for h in t.hops] == list(range(1, 9))
    hop4 = t.hops[3]
    assert hop4.hosts == ("be2315.ccr31.par04.atlas.cogentco.com",
                          "be2316.ccr32.par04.atlas.cogentco.com")
    assert hop4.ips == ("154.54.61.113", "154.54.61.117") and hop4.rtt_ms == 9.874
    assert not t.hops[2].answered and math.isnan(t.hops[2].rtt_ms)  # * * *
    assert t.hops[5].ips == ("149.14.252.90",) and t.hops[5].rtt_ms == 16.944  # !H ignored


def test_traceroute_n_has_addresses_only():
    t = trace("traceroute_n.txt")
    assert t.fmt == "traceroute" and len(t.hops) == 5
    assert all(not h.hosts and h.ips for h in t.hops)


def test_windows_tracert_with_crlf_and_timeouts():
    t = trace("tracert.txt")
    assert (t.fmt, t.target) == ("tracert", "203.0.113.10")
    assert t.hops[0].rtt_ms == 1.0  # "<1 ms" read as 1 ms (tracert's resolution)
    assert t.hops[3].hosts == ("xe-0-0-1.sin10.ip4.gtt.net",) and t.hops[3].ips == ("89.149.130.2",)
    assert not t.hops[2].answered  # Request timed out.
    assert t.hops[-1].ips == ("203.0.113.10",)


def test_mtr_report_and_report_wide():
    t = trace("mtr_report.txt")
    assert t.fmt == "mtr" and len(t.hops) == 8
    assert t.hops[4].hosts == ("ae-2.r21.frnkge08.de.bb.g",)  # --report truncates names
    assert (t.hops[4].rtt_ms, t.hops[4].loss_pct) == (12.9, 0.0)  # Best column
    assert not t.hops[2].answered and t.hops[2].loss_pct == 100.0  # ???
    w = trace("mtr_report_wide.txt")
    assert w.hops[3].hosts == ("ae-5.r24.tokyjp05.jp.bb.gin.ntt.net",)
    assert w.hops[3].ips == ("129.250.3.1",) and w.hops[4].loss_pct == 10.0


def test_mtr_json_and_csv():
    j = trace("mtr.json")
    assert (j.fmt, j.target, len(j.hops)) == ("mtr-json", "203.0.113.10", 5)
    assert j.hops[2].hosts == ("ae-9.r01.snjsca04.us.bb.gin.ntt.net",) and j.hops[2].rtt_ms == 2.2
    c = trace("mtr.csv")
    assert (c.fmt, c.target, len(c.hops)) == ("mtr-csv", "203.0.113.10", 5)
    assert c.hops[2].hosts == ("be2951.ccr41.iad02.atlas.cogentco.com",)
    assert c.hops[4].ips == ("203.0.113.10",) and c.hops[4].rtt_ms == 5.88


@pytest.mark.parametrize("text, fragment", [
    ("", "paste the output"), ("hello world", "no traceroute"), ("{not json", "not valid JSON"),
    ('{"report": {}}', "not the output of mtr --json"),
    ("x" * (MAX_TRACE_CHARS + 1), "over the 65,536-character limit"),
])
def test_unreadable_pastes_say_why(text, fragment):
    t = parse_trace(text)
    assert not t.hops and fragment in t.problem


def test_hops_beyond_the_cap_are_dropped_with_a_warning():
    lines = [f" {i}  r{i}.example.net (198.51.100.{i % 250})  {i}.0 ms" for i in range(1, 131)]
    t = parse_trace("\n".join(lines))
    assert len(t.hops) == MAX_HOPS and "only the first 100 hops" in t.warnings[0]


@given(st.text(max_size=2000))
def test_the_parser_never_raises_on_arbitrary_text(text):
    t = parse_trace(text)
    assert len(t.hops) <= MAX_HOPS and isinstance(t.problem, str)
    assert all(len(h) <= 253 for hop in t.hops for h in hop.hosts)


@given(st.lists(st.sampled_from([
    " 1  a.fra1.example.net (198.51.100.1)  1.0 ms", "  2.|-- x.lon1.y.z  0.0%  10  1 1 1 1 0",
    "  3     *        *        *     Request timed out.", "Tracing route to x [1.2.3.4]", "*",
    "traceroute to x (1.2.3.4)", "HOST: a Loss%", '{"report": {"hubs": [1, {"host": 2}]}}',
    "Mtr_Version,Hop,Ip", "MTR,1,fra1.example.net,0,1", "\x00", "ms ms ms", " 9999 ( )"]),
    max_size=60).map("\n".join))
def test_the_parser_never_raises_on_mixed_fragments(text):
    t = parse_trace(text)
    assert len(t.hops) <= MAX_HOPS


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.sampled_from(["report", "hubs", "mtr", "dst", "host",
                                                       "Best", "Loss%", "count"]), kids,
                                      max_size=4), max_leaves=20))
def test_any_json_is_read_or_refused(value):
    t = parse_trace(json.dumps({"report": value}))
    assert len(t.hops) <= MAX_HOPS


# -- metro codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("host, metro", [
    ("ae-1.r21.frnkge08.de.bb.gin.ntt.net", "Frankfurt"),
    ("be3042.ccr22.lon13.atlas.cogentco.com", "London"), ("xe-0.fra10.ip4.gtt.net", "Frankfurt"),
    ("ae12.cr1.sin1.sg.example.net", "Singapore"), ("et-0.hkg1.example.net", "Hong Kong"),
    ("lhr-edge-2.example.com", "London"), ("ams1.example.net", "Amsterdam"),
    ("tyo-r1.example.jp", "Tokyo"), ("nrt3.example.net", "Tokyo"),
    ("sjc2.example.net", "San Jose"), ("iad-core.example.net", "Ashburn"),
])
def test_carrier_hostnames_name_their_metro(host, metro):
    assert [m.name for _t, m in hostname_metros(host)] == [metro]


@pytest.mark.parametrize("host", ["ae-1.cr2.core.example.net", "_gateway", "router.fra.net",
                                  "lon.co.uk", "pe1-man-edge.example.com", "192-0-2-1.isp.net"])
def test_generic_router_words_and_carrier_domains_name_no_metro(host):
    assert hostname_metros(host) == []


def test_the_metro_table_is_sourced_and_unambiguous(catalog):
    assert all(m.source.startswith("GeoNames ") and m.codes for m in METROS)
    # every catalog access point's own IATA code names a metro within the threshold of it
    for pop_id in catalog.pop_ids:
        assert metro_for_token(pop_id.lower()) is not None, pop_id


# -- inference -----------------------------------------------------------------------------------

def test_mtr_through_frankfurt_enters_at_fra_with_high_confidence(catalog):
    inf = infer(catalog, "mtr_report.txt", BERLIN)
    assert (inf.pop, inf.confidence) == ("FRA", "high")
    assert [(e.hop, e.code, e.metro, e.verdict) for e in inf.evidence] == [
        (5, "frnkge", "Frankfurt", "agrees"), (6, "frnkge", "Frankfurt", "entry")]
    assert inf.measured_ms == 13.8 and inf.destination_hop == 8


def test_lyon_via_paris_to_london_enters_at_lhr(catalog):
    inf = infer(catalog, "traceroute_linux.txt", LYON)
    assert inf.pop == "LHR" and inf.confidence == "high"
    assert [e.verdict for e in inf.evidence] == ["earlier", "earlier", "entry"]
    assert "lon13" in inf.reason and "3 hops before the destination" in inf.reason


@pytest.mark.parametrize("name, client, pop", [
    ("tracert.txt", SINGAPORE, "SIN"), ("mtr.json", SAN_JOSE, "SJC"),
    ("mtr.csv", RESTON, "IAD"), ("mtr_report_wide.txt", OSAKA, "NRT"),
])
def test_every_format_infers_its_entry_point(catalog, name, client, pop):
    assert infer(catalog, name, client).pop == pop


def test_without_a_client_the_names_alone_decide(catalog):
    inf = infer(catalog, "mtr_report.txt")
    assert inf.pop == "FRA" and inf.confidence == "high"  # two agreeing hops, next to the end
    assert all(math.isnan(e.floor_ms) for e in inf.evidence)


def test_a_hop_faster_than_light_from_the_client_is_rejected(catalog):
    """A Singapore hop at 3 ms seen from Berlin (9,900 km: >= 97 ms in fibre) is a wrong name."""
    inf = infer(catalog, "tracert.txt", BERLIN)
    assert inf.pop is None and inf.confidence == "none"
    assert {e.verdict for e in inf.evidence} == {"faster than light"}
    assert "impossible" in inf.reason


def test_a_last_hop_in_a_metro_without_an_access_point_is_ambiguous(catalog):
    inf = infer(catalog, "mtr_ambiguous_ams.txt", BERLIN)
    assert inf.pop is None and "Amsterdam" in inf.reason and "nothing inferred" in inf.reason


def test_no_codes_and_no_names_say_so(catalog):
    assert "no hop name carries a metro code" in infer(catalog, "mtr_no_codes.txt").reason
    assert "no hostnames" in infer(catalog, "traceroute_n.txt").reason


def test_the_destination_faster_than_light_to_the_pop_rejects_the_inference(catalog):
    text = (TRACES / "mtr_report.txt").read_text().replace(
        "203.0.113.10               0.0%    10   14.0  14.2  13.8",
        "203.0.113.10               0.0%    10    1.0   1.0   0.5")
    inf = infer_entry(parse_trace(text), catalog.pop_ids, catalog.pop_lats, catalog.pop_lons,
                      SINGAPORE)
    assert inf.pop is None


def test_one_hostname_naming_two_metros_is_ambiguous(catalog):
    text = "traceroute to 203.0.113.10 (203.0.113.10)\n 1  fra-lon-link.example.net (198.51.100.1)" \
           "  12.0 ms\n 2  203.0.113.10 (203.0.113.10)  13.0 ms\n"
    inf = infer_entry(parse_trace(text), catalog.pop_ids, catalog.pop_lats, catalog.pop_lons)
    assert inf.pop is None and "more than one metro" in inf.reason


def test_far_from_the_destination_is_low_confidence(catalog):
    lines = ["traceroute to 203.0.113.10 (203.0.113.10)",
             " 1  ae1.fra2.example.net (198.51.100.1)  10.0 ms"]
    lines += [f" {i}  198.51.100.{i} (198.51.100.{i})  11.0 ms" for i in range(2, 8)]
    lines.append(" 8  203.0.113.10 (203.0.113.10)  12.0 ms")
    inf = infer_entry(parse_trace("\n".join(lines)), catalog.pop_ids, catalog.pop_lats,
                      catalog.pop_lons)
    assert (inf.pop, inf.confidence) == ("FRA", "low")
    assert any("MPLS" in n for n in inf.notes)


# -- measured RTTs -------------------------------------------------------------------------------

def test_measured_csv_rows_and_line_numbered_problems():
    rows, problems = parse_measurements(
        "index,rtt_ms,pop\n1,21.5,fra\n2,abc,\n#3,40,\n0,10,\n")
    assert [(r.index, r.rtt_ms, r.pop) for r in rows] == [(0, 21.5, "FRA"), (2, 40.0, "")]
    assert problems == ["line 3: rtt_ms 'abc' is not a number",
                        "line 5: index '0' is not a client number (1, 2, ...)"]
    rows, _ = parse_measurements("name;lat;lon;latency_ms\nLyon;45.76;4.84;18\n")
    assert (rows[0].name, rows[0].lat, rows[0].rtt_ms) == ("Lyon", 45.76, 18.0)


@pytest.mark.parametrize("text, fragment", [
    ("", "paste or upload"), ("client,pop\nx,FRA", "needs an rtt_ms column"),
    ("rtt_ms\n12", "needs a client column"), ("a" * (MAX_CSV_CHARS + 1), "character limit"),
])
def test_measured_csv_refusals(text, fragment):
    rows, problems = parse_measurements(text)
    assert not rows and fragment in problems[0]


def test_measured_csv_row_cap():
    rows, problems = parse_measurements("index,rtt_ms\n" + "1,10\n" * (MAX_MEASUREMENTS + 5))
    assert len(rows) == MAX_MEASUREMENTS and problems == ["only the first 1,000 rows were read"]


@given(st.text(max_size=500))
def test_measured_csv_never_raises(text):
    rows, problems = parse_measurements("index,rtt_ms,pop\n" + text)
    assert len(rows) <= MAX_MEASUREMENTS and all(isinstance(p, str) for p in problems)


def test_compare_and_median_error():
    rows = [compare("a", "FRA", 22.0, 20.0), compare("b", "LHR", 15.0, 20.0),
            compare("c", "SIN", 30.0, 20.0)]
    assert (rows[0].error_ms, rows[0].error_pct) == (2.0, 10.0)
    s = error_summary(rows)
    assert s == {"n": 3, "median_abs_ms": 5.0, "median_ms": 2.0, "median_abs_pct": 25.0}
    assert error_summary([])["n"] == 0


def test_every_metro_point_is_its_geonames_row_in_the_shipped_gazetteer():
    """The table's coordinates are the GeoNames points the dashboard ships (its source id)."""
    from dashboard.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    for m in METROS:
        city = gaz.by_id(int(m.source.split()[1]))
        assert (city.lat, city.lon) == pytest.approx((m.lat, m.lon), abs=1e-4), m.name
        assert city.country_code == m.country, m.name
