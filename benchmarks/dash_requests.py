"""Bodies of ``/_dash-update-component`` requests shaped as dash-renderer sends them: the one copy
of the builder for the benchmarks and the tests that talk to the callbacks without a browser.

A body names the callback (``output``: its key in ``/_dash-dependencies``), lists its outputs,
and gives one item per declared input and state. A pattern-matching (``ALL``) output, input or
state is a *list* of the concrete components it matches on the page, in the page's order;
``dashboard.hardening`` refuses a body that sends one object instead (a 400), as Dash would fail
on it. The concrete ids come from ``pattern_ids`` (by the pattern's ``type``); by default the
access point pills (``pop-toggle``) are the catalog's, in the order the page lays them out
(:func:`pill_ids`), and every other group matches nothing (an empty list).

    deps = client.get("/_dash-dependencies").get_json()
    body = callback_body(deps, "scenario-store.data",
                         {"scenario-edit.data": {"op": "toggle_pop", "pop": "CDG", "nonce": 1},
                          "scenario-store.data": store, "view-tabs.value": "map"},
                         changed="scenario-edit.data")

Values are keyed ``"<id>.<property>"``; a missing one is ``None`` (what the renderer sends for
a property the component does not have set). For a pattern group the key is
``"<type>.<property>"`` and the value a list aligned with the group's ids (missing: ``None``
each, except the ``id`` property, whose value is the id itself).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Iterable, Sequence

#: ``type`` of the access point pills' pattern ids (``dashboard.ids.pop_toggle``).
POP_TOGGLE = "pop-toggle"
#: The wildcard as ``/_dash-dependencies`` spells it inside a pattern id.
_ALL = ["ALL"]


@lru_cache(maxsize=1)
def _default_pill_order() -> tuple[str, ...]:
    from dashboard.catalog import default_catalog

    return tuple(pill_order(default_catalog()))


def pill_order(catalog: Any) -> list[str]:
    """The access point ids of ``catalog`` in the order of the page's pills: grouped by area in
    ``dashboard.catalog.AREAS`` order (``layout.map.pop_status_controls``; the scene callback's
    ``pills_by_area`` is the same list)."""
    from dashboard.catalog import AREAS

    return [p for area in AREAS for p in catalog.pops.loc[catalog.pops["area"] == area, "id"]]


def pill_ids(pops: Iterable[str] | None = None) -> list[dict[str, str]]:
    """The pills' pattern ids for ``pops`` (default: the default catalog's, page order)."""
    return [{"pop": p, "type": POP_TOGGLE}
            for p in (_default_pill_order() if pops is None else pops)]


def find_dependency(deps: Sequence[dict[str, Any]], output_prefix: str) -> dict[str, Any]:
    """The server callback whose output key starts with ``output_prefix`` (leading dots of both
    ignored: ``"scenario-store.data"`` finds the scene callback ``..scenario-store.data...``).
    Clientside callbacks are skipped (the server refuses them). Raises ``LookupError`` when none
    or several match."""
    want = output_prefix.lstrip(".")
    found = [d for d in deps if not d.get("clientside_function")
             and d["output"].lstrip(".").startswith(want)]
    if len(found) != 1:
        raise LookupError(f"{len(found)} server callbacks have outputs starting with "
                          f"{output_prefix!r}: {[d['output'][:80] for d in found]}")
    return found[0]


def _pattern(component_id: str) -> dict[str, Any] | None:
    """The id as a dict when it is a pattern-matching one (``{"pop":["ALL"],...}``)."""
    if not component_id.startswith("{"):
        return None
    pattern = json.loads(component_id)
    wild = [v for v in pattern.values() if isinstance(v, list)]
    if any(v != _ALL for v in wild):
        raise NotImplementedError(f"only ALL wildcards are built here: {component_id}")
    return pattern


def _matches(pattern: dict[str, Any], pattern_ids: dict[str, list[dict]] | None) -> list[dict]:
    kind = pattern.get("type")
    if pattern_ids is not None and kind in pattern_ids:
        found = list(pattern_ids[kind])
    elif kind == POP_TOGGLE:
        found = pill_ids()
    else:
        found = []
    for cid in found:  # a typo would build a body the server refuses: say so here
        if set(cid) != set(pattern) or any(cid[k] != v for k, v in pattern.items() if v != _ALL):
            raise ValueError(f"{cid} does not match the pattern {pattern}")
    return found


def _split(output: str) -> list[tuple[str, str]]:
    """``"..a.b...c.d.."`` -> ``[("a", "b"), ("c", "d")]`` (``@<hash>`` of duplicates kept)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [tuple(p.rsplit(".", 1)) for p in parts]  # type: ignore[misc]


def request_body(dep: dict[str, Any], values: dict[str, Any], changed: str | Sequence[str],
                 pattern_ids: dict[str, list[dict]] | None = None) -> dict[str, Any]:
    """The body dash-renderer sends for the dependency ``dep`` (an entry of
    ``/_dash-dependencies``); see the module doc for ``values`` and ``pattern_ids``."""
    def outputs_of(cid: str, prop: str) -> Any:
        prop = prop.split("@")[0]  # allow_duplicate's hash is in the key, not in the output
        pattern = _pattern(cid)
        if pattern is None:
            return {"id": cid, "property": prop}
        return [{"id": m, "property": prop} for m in _matches(pattern, pattern_ids)]

    def item(decl: dict[str, Any]) -> Any:
        cid, prop = decl["id"], decl["property"]
        pattern = _pattern(cid)
        if pattern is None:
            return {"id": cid, "property": prop, "value": values.get(f"{cid}.{prop}")}
        found = _matches(pattern, pattern_ids)
        given = values.get(f"{pattern.get('type')}.{prop}")
        if given is not None and len(given) != len(found):
            raise ValueError(f"{len(given)} values for {len(found)} {pattern.get('type')} ids")
        return [{"id": m, "property": prop,
                 "value": given[i] if given is not None else (m if prop == "id" else None)}
                for i, m in enumerate(found)]

    outs = [outputs_of(cid, prop) for cid, prop in _split(dep["output"])]
    return {"output": dep["output"],
            "outputs": outs if dep["output"].startswith("..") else outs[0],
            "inputs": [item(d) for d in dep.get("inputs", [])],
            "state": [item(d) for d in dep.get("state", [])],
            "changedPropIds": [changed] if isinstance(changed, str) else list(changed)}


def callback_body(deps: Sequence[dict[str, Any]], output_prefix: str, values: dict[str, Any],
                  changed: str | Sequence[str],
                  pattern_ids: dict[str, list[dict]] | None = None) -> dict[str, Any]:
    """The body for the server callback whose outputs start with ``output_prefix``
    (:func:`find_dependency`), ``values`` for its inputs and states, ``changed`` the input(s)
    that fired (``"<id>.<property>"``)."""
    return request_body(find_dependency(deps, output_prefix), values, changed, pattern_ids)


def app_dependencies(app: Any) -> list[dict[str, Any]]:
    """``/_dash-dependencies`` of a Dash ``app``, in-process (Flask's test client)."""
    return app.server.test_client().get("/_dash-dependencies").get_json()


def response_value(answer: dict[str, Any] | bytes, key: str) -> Any:
    """One output's value in a callback's answer (``key``: ``"<id>.<property>"``)."""
    if isinstance(answer, (bytes, str)):
        answer = json.loads(answer)
    cid, prop = key.rsplit(".", 1)
    return answer["response"][cid][prop]


def component_values(tree: Any, prop: str = "value") -> list[tuple[Any, Any]]:
    """``(id, props[prop])`` of every component with an id in a rendered Dash component tree
    (an output's JSON, e.g. the model controls), depth first: what the page then holds, to send
    back as states like the browser does."""
    found: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict):
                if "id" in props:
                    found.append((props["id"], props.get(prop)))
                walk(props.get("children"))
    walk(tree)
    return found
