"""The browser scripts in ``assets/`` cannot import :mod:`dashboard.ids`, so they repeat component ids
as string literals. Every id they use must be a value of ``dashboard/ids.py``: a renamed id would
otherwise leave the map click or the failover animation silently talking to nothing.

Where a script names an id (the only forms the scripts use, after comments are removed):

- ``document.getElementById(X)``; ``X.id = Y`` (an element the script creates);
- CSS selectors ``querySelector(All)`` / ``closest`` / ``matches``: only ``#id`` parts count
  (``.legend``, ``.js-plotly-plot`` are classes);
- ``dash_clientside.set_props(X, ...)``;
- pattern ids: an object literal ``{type: '...', ...}`` given to ``set_props`` or to
  ``JSON.stringify`` inside ``getElementById``: its ``type`` must be a value of ids.py.

``X`` may be a string literal, a ``var``/``let``/``const`` string constant of the same file, or a
``+`` concatenation of those (``'#' + MAP_ID``). An argument the scan cannot resolve (a function
parameter) is not an id literal and is skipped. ``assets/vendor`` (third-party bundles) is not
scanned. The scan is lexical (regular expressions over the comment-free text), which fits the
scripts' plain ES5; a regex literal holding ``//`` would confuse the comment stripper.
"""

from __future__ import annotations

import re

import pytest

from dashboard import ids
from tests.conftest import ROOT

_STRING = r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\""""
_IDENT = r"[A-Za-z_$][\w$]*"
_CONSTANT = re.compile(rf"\b(?:var|let|const)\s+({_IDENT})\s*=\s*({_STRING})\s*[;,\n]")
#: Call sites whose first argument is an element id / a selector / a Dash id.
_SITES = re.compile(
    r"\b(?:document\s*\.\s*)?(getElementById|querySelectorAll|querySelector|closest|matches"
    r"|set_props)\s*\(|\.\s*(id)\s*=(?!=)")
_SELECTOR_ID = re.compile(r"(?:^|[\s>+~,(]|(?<=[\w\])]))#(-?[A-Za-z_][\w-]*)")


def strip_comments(src: str) -> str:
    """``src`` without ``//`` and ``/* */`` comments, string literals kept intact (comments
    name ids in prose, e.g. "the store `failover-frames`", which are not uses)."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "'\"`":
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(src[i:j + 1])
            i = j + 1
        elif src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _object_type(body: str, constants: dict[str, str]) -> str | None:
    """The ``type`` of an object literal's text (between the braces), or None."""
    m = re.search(rf"(?:^|[,{{\s])['\"]?type['\"]?\s*:\s*({_STRING}|{_IDENT})", body)
    if not m:
        return None
    v = m.group(1)
    return _unquote(v) if v[0] in "'\"" else constants.get(v)


def _expression(src: str, pos: int, constants: dict[str, str]) -> tuple[str, str] | None:
    """The argument starting at ``pos``: ("id", text) for a string (literals, constants and
    ``+``), ("pattern", type) for an object literal (also inside ``JSON.stringify``), None
    when it is anything else."""
    ws = re.compile(r"\s*")
    pos = ws.match(src, pos).end()
    obj = re.compile(r"(?:JSON\s*\.\s*stringify\s*\(\s*)?\{([^{}]*)\}").match(src, pos)
    if obj:
        kind = _object_type(obj.group(1), constants)
        return ("pattern", kind) if kind is not None else None
    parts: list[str] = []
    term = re.compile(rf"({_STRING})|({_IDENT})(?![\w$]*\s*[(.\[])")
    while True:
        m = term.match(src, pos)
        if not m:
            return None
        if m.group(1):
            parts.append(_unquote(m.group(1)))
        elif m.group(2) in constants:
            parts.append(constants[m.group(2)])
        else:
            return None  # a parameter or a computed value: not an id literal
        pos = ws.match(src, m.end()).end()
        if not src.startswith("+", pos):
            return "id", "".join(parts)
        pos = ws.match(src, pos + 1).end()


def js_ids(source: str) -> list[str]:
    """Component ids (and pattern-id types) a browser script uses, in order of appearance."""
    src = strip_comments(source)
    constants = {name: _unquote(lit) for name, lit in _CONSTANT.findall(src)}
    found: list[str] = []
    for site in _SITES.finditer(src):
        call = site.group(1) or site.group(2)
        arg = _expression(src, site.end(), constants)
        if arg is None:
            continue
        kind, value = arg
        if kind == "pattern":
            if call in ("set_props", "getElementById"):
                found.append(value)
        elif call in ("querySelector", "querySelectorAll", "closest", "matches"):
            selector = re.sub(r"\[[^\]]*\]", "", value)  # [href="#x"] is not an id selector
            found += _SELECTOR_ID.findall(selector)
        else:
            found.append(value)
    return found


def known_ids() -> set[str]:
    """Every id value of :mod:`dashboard.ids` (string constants, and tuples of them)."""
    out: set[str] = set()
    for name, value in vars(ids).items():
        if not name.isupper():
            continue
        if isinstance(value, str):
            out.add(value)
        elif isinstance(value, tuple):
            out.update(v for v in value if isinstance(v, str))
    return out


def unknown_ids(files: dict[str, str]) -> list[str]:
    """``"file: 'id'"`` for each id a script uses that ids.py does not define (once per file,
    in order of first use)."""
    known = known_ids()
    return [f"{name}: {cid!r}" for name, src in files.items()
            for cid in dict.fromkeys(js_ids(src)) if cid not in known]


def _asset_scripts() -> dict[str, str]:
    return {f"assets/{p.name}": p.read_text(encoding="utf-8")
            for p in sorted((ROOT / "assets").glob("*.js"))}  # not assets/vendor


def test_every_id_the_browser_scripts_use_is_defined_in_ids_py():
    assert unknown_ids(_asset_scripts()) == []


def test_the_scan_sees_the_ids_the_scripts_really_use():
    """Guards the check above against passing because the scan finds nothing."""
    scripts = _asset_scripts()
    assert set(js_ids(scripts["assets/map_click.js"])) == {ids.WORLD_MAP, ids.SCENARIO_EDIT,
                                                            ids.PLAN_MODE}
    assert set(js_ids(scripts["assets/failover.js"])) == {ids.WORLD_MAP, ids.FAILOVER_STATUS}
    assert set(js_ids(scripts["assets/busy_notice.js"])) == {ids.SERVER_BUSY_NOTICE}


def test_a_typo_in_a_script_is_reported_with_its_file_and_id():
    bad = """
        var MAP_ID = 'wrold-map';            // typo of world-map
        var STATUS = "failover-status";
        function f() {
            var host = document.getElementById(MAP_ID);
            host.closest('#' + MAP_ID + ' .main-svg');
            document.querySelector("#scenario-edti");
            window.dash_clientside.set_props(STATUS, {data: 1});
            window.dash_clientside.set_props('sumary', {children: 'x'});
            dc.set_props({type: 'pop-toggel', pop: 'FRA'}, {className: 'x'});
            document.getElementById(JSON.stringify({pop: 'FRA', type: 'model-parm'}));
            el.id = 'busy-banner';
        }
    """
    assert unknown_ids({"assets/fake.js": bad}) == [
        "assets/fake.js: 'wrold-map'",
        "assets/fake.js: 'scenario-edti'", "assets/fake.js: 'sumary'",
        "assets/fake.js: 'pop-toggel'", "assets/fake.js: 'model-parm'",
        "assets/fake.js: 'busy-banner'"]


def test_classes_comments_plotly_objects_and_parameters_are_not_ids():
    fine = """
        /* the store 'no-such-id' is written by document.getElementById('not-an-id') */
        // document.querySelector('#commented-out')
        var url = 'http://example.com/#anchor';  // a string, not a selector argument
        host.querySelector('.js-plotly-plot');
        target.closest('.legend, .modebar-container, .modebar');
        document.querySelector('a[href="#top"]');
        Plotly.restyle(gd, {type: 'scattergeo'}, [0]);
        function byId(id) { return document.getElementById(id); }
        if (el.id === 'whatever') {}
        var ok = document.getElementById('world-map');
        dc.set_props({pop: 'FRA', type: 'pop-toggle'}, {n_clicks: 1});
        dc.set_props({type: 'endpoint-down', region: 'us-east-1'}, {n_clicks: 1});
        document.querySelector('div#scenario-edit > .x, #failover-status');
    """
    assert js_ids(fine) == [ids.WORLD_MAP, ids.POP_TOGGLE, "endpoint-down",
                            ids.SCENARIO_EDIT, ids.FAILOVER_STATUS]
    assert unknown_ids({"assets/fine.js": fine}) == []


@pytest.mark.parametrize("helper,args", [(ids.pop_toggle, ("FRA",)),
                                         (ids.endpoint_control, ("down", "us-east-1")),
                                         (ids.model_param, ("overhead_ms",))])
def test_pattern_id_types_are_values_of_ids_py(helper, args):
    assert helper(*args)["type"] in known_ids()


def test_every_endpoint_control_kind_has_its_type():
    assert {ids.endpoint_control(k, "r")["type"] for k in ids.ENDPOINT_CONTROL_KINDS} \
        == set(ids.ENDPOINT_CONTROL_TYPES)


def test_strip_comments_keeps_strings_with_slashes():
    assert strip_comments("var a = 'http://x/*y*/'; // c\n/* d */b") == "var a = 'http://x/*y*/'; \n b"
