"""Issue 17, the capacity story, as functions (no browser): the 25,000-city client set counts as
demand and as support clients; the headline, risks, demand prompt (one-click scale) and the
PoP × N-1 heat map; numbers checked against a hand computation."""

from __future__ import annotations


import numpy as np
import pytest

from dashboard.callbacks import scene
from dashboard.domain import capacity_story as story_core
from dashboard.figures.capacity_story import EMPTY_COLOR, n1_heatmap_figure, util_color
from dashboard.layout.capacity_story import render_story
from dashboard.services import capacity_story as story_svc
from dashboard.services import events
from dashboard.domain.scenario import DEFAULT_POPULATION_GBPS, Client, Scenario
from dashboard.gazetteer import demand_set, load_gazetteer
from dashboard.services import capacity as svc
from dashboard.services import support as support_svc
from dashboard.services.scenario import load_scenario
from dashboard.settings import Settings

SET = "cities25k"
PARIS = Client(48.8566, 2.3522, "Paris", 40)


def _set_gbps(scale: float = 1.0) -> float:
    """By hand: the set's inhabitants at the world population demand's default rate
    (10 Gbps over every gazetteer inhabitant), times the scale."""
    g = load_gazetteer()
    return (float(demand_set(g, SET).weights.sum()) / float(g._df["population"].sum())
            * DEFAULT_POPULATION_GBPS * scale)


def test_client_set_counts_as_demand(catalog):
    view = svc.capacity_view(catalog, Scenario(client_set=SET))
    assert view.totals["points"] == 25_000
    assert view.totals["demand_gbps"] == pytest.approx(_set_gbps(), rel=1e-9)
    assert 9.0 < view.totals["demand_gbps"] < 10.0  # 96 % of the world's 10 Gbps
    assert int(view.table["clients"].sum()) == 25_000
    assert view.table["nominal_gbps"].sum() == pytest.approx(_set_gbps(), rel=1e-9)
    kpis = {k.label: k.value for k in svc.capacity_kpis(view)}
    assert kpis["demand"] == f"{_set_gbps():,.2f} Gbps"


def test_own_clients_and_the_set_add_up_and_scale(catalog):
    s = Scenario(clients=(PARIS,), client_set=SET, demand_scale=2.0)
    d = svc.scenario_demand(s)
    assert len(d.lats) == 25_001 and d.labels[0] == "Paris"
    assert d.gbps[0] == pytest.approx(40 * 2.0 / 1000)  # 40 Mbps × 2
    assert d.total_gbps == pytest.approx(0.08 + _set_gbps(2.0), rel=1e-9)
    assert "client set" in d.note


def test_population_source_ignores_the_set(catalog):
    a = svc.scenario_demand(Scenario(client_set=SET, demand_source="population"))
    assert a.total_gbps == pytest.approx(DEFAULT_POPULATION_GBPS)


def test_n1_key_names_the_client_set():
    assert svc.n1_key(Scenario(client_set=SET), "eu-central-1") != \
        svc.n1_key(Scenario(), "eu-central-1")


def test_capacity_tab_renders_the_set_as_demand(catalog):
    loaded = load_scenario(Scenario(client_set=SET).to_dict(), catalog, Settings())
    kpis = scene.capacity_outputs(loaded, False, catalog)[0]
    assert "No demand yet" not in str(kpis)
    assert "9.58 Gbps" in str(kpis)


def test_client_set_rows_are_support_clients(catalog):
    s = Scenario(clients=(PARIS,), client_set=SET)
    options = support_svc.client_options(s)
    assert options[0][0] == 0 and "Paris" in options[0][1]
    assert len(options) == 1 + support_svc.MAX_SET_OPTIONS
    first = demand_set(load_gazetteer(), SET).names[0]
    assert options[1] == (1, f"#2 {first}  · client set")
    loaded = load_scenario(s.to_dict(), catalog, Settings())
    view = support_svc.explain_view(loaded, 1, catalog)
    assert view.title == f"#2 {first}" and not view.hint


def test_round_trip_sends_the_picker_when_only_the_set_changes(catalog):
    before = load_scenario(Scenario().to_dict(), catalog, Settings())
    after = load_scenario(Scenario(client_set=SET).to_dict(), catalog, Settings())
    out = scene.panel_outputs(after, scene.PageState(), catalog, before)
    options = out[6]
    assert isinstance(options, list) and len(options) == support_svc.MAX_SET_OPTIONS


# -- the story: N-1 matrix, demand prompt, headline and risks (issue 17) ------------------------

TOKYO = Client(35.6895, 139.6917, "Tokyo", 900)
SYDNEY = Client(-33.87, 151.21, "Sydney", 1)


def test_n1_nominal_by_hand():
    # 3 PoPs; points ranked nearest first; PoP 2 already down
    ranked = np.array([[0, 1, 2], [1, 0, 2], [2, 0, 1], [0, 2, 1]])
    w = np.array([1.0, 2.0, 4.0, 8.0])
    m = story_core.n1_nominal(ranked, w, np.array([False, False, True]))
    # nothing lost: 0 <- points 0, 2 (2 is down, next 0), 3 = 13; 1 <- point 1 = 2
    # lose 0: every point of PoP 0 moves to PoP 1 -> [0, 15, 0]; lose 1: point 1 -> 0 -> [15, 0, 0]
    assert m[0].tolist() == [0.0, 15.0, 0.0]
    assert m[1].tolist() == [15.0, 0.0, 0.0]
    assert np.isnan(m[2]).all()
    over = story_core.n1_overflows(m, np.array([13.0, 2.0, 0.0]), np.array([14.0, 10.0, 1.0]),
                                   ("A", "B", "C"))
    # losing A puts 15 on B (capacity 10): 5 over; losing B puts 15 on A (capacity 14): 1 over
    assert [(o.lost, o.pop, o.overflow) for o in over] == [("A", "B", 5.0), ("B", "A", 1.0)]


def test_fitted_scale_by_hand():
    assert story_core.fitted_scale(1.0, 0.046) == 14.0          # 0.65 / 0.046 = 14.13
    assert story_core.fitted_scale(10.0, 0.001) == 6500.0       # 10 × 650
    assert story_core.fitted_scale(0.01, 0.02) == 0.33           # 0.325 -> 2 digits
    assert story_core.fitted_scale(1.0, 0.0) is None
    assert story_core.fitted_scale(1.0, float("nan")) is None


def test_prompt_and_one_click_scale_for_a_tiny_demand(catalog):
    s = Scenario(clients=(Client(48.8566, 2.3522, "Paris", 1),))  # 1 Mbps at CDG: 0.1 %
    story = story_svc.capacity_story(catalog, s)
    assert story.prompt is not None and story.prompt.scale == 650.0  # 0.65 / 0.001
    assert "under 10 % busy" in story.prompt.text and "CDG" in story.prompt.text
    assert story.prompt.button == "Scale demand to 650 Mbps per unit of weight"
    ev = events.scenario_event(events.EDIT, "", {"op": "demand_fit"}, None, None, s.to_dict(),
                               catalog, Settings())
    after = Scenario.from_dict(ev.store)
    assert after.demand_scale == 650.0 and "demand=clients:650" in ev.url_search
    view = svc.capacity_view(catalog, after)
    assert float(view.table.set_index("pop_id").loc["CDG", "utilisation"]) == pytest.approx(0.65)
    assert story_svc.capacity_story(catalog, after).prompt is None
    # a second click (a stale page) changes nothing and says why
    again = story_svc.fit_edit(catalog, after)
    assert again["notices"][0]["text"] == ("Nothing to scale: the busiest access point is at "
                                           "65 % (a scale is offered below 10 %).")
    assert story_svc.fit_edit(catalog, Scenario())["notices"][0]["level"] == "error"


def test_population_prompt_scales_the_total(catalog):
    s = Scenario(demand_source="population", demand_scale=0.01)
    view = svc.capacity_view(catalog, s)
    peak = float(np.nanmax(view.table["utilisation"]))
    story = story_svc.capacity_story(catalog, s, view)
    assert story.prompt.scale == story_core.fitted_scale(0.01, peak)
    assert "Gbps in total" in story.prompt.button


def test_headline_and_risks_by_hand(catalog):
    # Tokyo 900 Mbps at NRT (1 Gbps): 90 %; ICN set to 0.5 Gbps: losing NRT moves Tokyo to
    # ICN (Seoul, its next nearest): 0.9 Gbps on 0.5 -> 0.4 Gbps over, 180 %
    s = Scenario(clients=(PARIS, TOKYO, SYDNEY), capacity=(("ICN", 0.5),))
    story = story_svc.capacity_story(catalog, s)
    assert story.prompt is None
    assert story.headline[0] == ("Demand of 0.94 Gbps against 18.50 Gbps of healthy access-point "
                                 "capacity (5.1 %); the busiest access point is NRT at 90 % of "
                                 "its 1.00 Gbps.")
    assert story.headline[1] == "Every healthy access point runs within its capacity."
    assert story.headline[2] == "The instance bandwidth of 1,000 Mbps is 94 % used."
    texts = [r.text for r in story.risks]
    assert texts == ["If NRT fails, ICN overflows by 0.40 Gbps (180 % of its 0.50 Gbps).",
                     "NRT runs at 90 % of its 1.00 Gbps: less than 20 % headroom."]
    # the heat map: the row "NRT lost" has ICN at 180 %, NRT itself empty
    i, j = story.lost.index("NRT"), story.pops.index("ICN")
    assert story.util_pct[i, j] == pytest.approx(180.0)
    assert np.isnan(story.util_pct[i, story.pops.index("NRT")])


def test_instance_and_over_capacity_risks_lead(catalog):
    story = story_svc.capacity_story(catalog, Scenario(client_set=SET))
    assert story.risks[0].level == "bad" and story.risks[0].text.startswith(
        "Instance bandwidth 1,000 Mbps is exceeded by 858 %")
    assert story.risks[1].text.startswith("BOM runs at 192 %")
    assert any(r.text.startswith("If ") for r in story.risks)  # N-1 is never crowded out
    assert len(story.risks) <= story_svc.MAX_RISKS
    text = story_svc.story_text(story)
    assert text.startswith("Capacity story: 25,000 demand points, 9.58 Gbps")


def test_heatmap_figure_and_renderer(catalog):
    story = story_svc.capacity_story(catalog, Scenario(clients=(PARIS, TOKYO, SYDNEY),
                                                       down=frozenset({"SIN"})))
    fig = n1_heatmap_figure(story.lost, story.pops, story.util_pct)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 19 and len(story.lost) == 18 and "SIN" not in bars[0].y
    assert bars[story.pops.index("SIN")].marker.color[0] == EMPTY_COLOR  # down: no cell
    assert util_color(0.0) == "rgb(22,163,74)" and util_color(float("nan")) == EMPTY_COLOR
    assert "No demand yet" in str(n1_heatmap_figure((), (), None).layout.annotations[0].text)
    html = str(render_story(story))
    assert "Top risks" not in html or "risk-" in html
    assert "No demand yet" in str(render_story(story_svc.capacity_story(catalog, Scenario())))


def test_capacity_tab_outputs_carry_the_story(catalog):
    loaded = load_scenario(Scenario(client_set=SET).to_dict(), catalog, Settings())
    out = scene.capacity_outputs(loaded, False, catalog)
    assert "BOM runs at 192 %" in str(out[-2])
    assert len(out[-1].data) == 20  # 19 columns + the colour bar


def test_spill_whatif_says_spilled_not_throttled(catalog):
    s = Scenario(client_set=SET, spill_whatif=True)
    view = svc.capacity_view(catalog, s)
    story = story_svc.capacity_story(catalog, s, view)
    assert story.headline[1] == (
        f"4 access points run over capacity: under the spill-over what-if "
        f"{view.totals['spilled_gbps']:.2f} Gbps moves on to other access points and 0.00 Gbps "
        "is unserved.")
    bom = view.table.set_index("pop_id").loc["BOM"]
    assert story.risks[1].text == (f"BOM runs at 192 % of its 1.00 Gbps: "
                                   f"{bom['spilled_out_gbps']:.2f} Gbps spilled on (what-if).")


def test_tiny_weights_scale_to_the_largest_scale_a_scenario_holds(catalog):
    from dashboard.domain.scenario import MAX_GBPS

    s = Scenario(clients=(Client(48.8566, 2.3522, "Paris", 1e-6),))  # 1e-6 Mbps: 1e-9 of CDG
    story = story_svc.capacity_story(catalog, s)
    assert story.prompt.scale == MAX_GBPS and "runs at ~0.1 %" in story.prompt.text
    edit = story_svc.fit_edit(catalog, s)
    assert edit["op"] == "capacity" and edit["demand_scale"] == MAX_GBPS
    at_max = Scenario(clients=s.clients, demand_scale=MAX_GBPS)
    assert story_svc.capacity_story(catalog, at_max).prompt is None  # nothing more to offer
    assert "the demand scale is at its largest" in \
        story_svc.fit_edit(catalog, at_max)["notices"][0]["text"]


@pytest.mark.parametrize("junk", [{"scale": 1e999}, {"scale": "abc"}, {"demand_scale": -5},
                                  {"nonce": [1, 2]}])
def test_demand_fit_ignores_what_the_request_says(catalog, junk):
    # the scale is the server's own (hostile input: a forged request sets nothing else)
    s = Scenario(clients=(Client(48.8566, 2.3522, "Paris", 1),))
    ev = events.scenario_event(events.EDIT, "", {"op": "demand_fit", **junk}, None, None,
                               s.to_dict(), catalog, Settings())
    assert Scenario.from_dict(ev.store).demand_scale == 650.0


def test_demand_fit_with_every_access_point_down(catalog):
    s = Scenario(clients=(PARIS,), down=frozenset(catalog.pop_ids))
    assert story_svc.capacity_story(catalog, s).prompt is None
    assert story_svc.fit_edit(catalog, s)["notices"][0]["text"] == \
        "Nothing to scale: every access point is down."


def test_html_summary_is_self_contained_and_escaped(catalog):
    from dashboard.callbacks.capacity_story import summary_download

    s = Scenario(clients=(Client(35.6895, 139.6917, "<script>alert(1)</script>", 900),),
                 capacity=(("ICN", 0.5),))
    out = summary_download(load_scenario(s.to_dict(), catalog, Settings()).scenario.to_dict(),
                           catalog, Settings())
    page = out["content"]
    assert out["type"] == "text/html" and out["filename"].startswith("anycast-eip-capacity-")
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")  # offline
    assert "If NRT fails, ICN overflows by 0.40 Gbps (180 % of its 0.50 Gbps)." in page
    assert "<td style='background:" in page and ">180</td>" in page  # the heat map cell
    assert "NRT at 90 % of its 1.00 Gbps" in page
    from dash.exceptions import PreventUpdate

    with pytest.raises(PreventUpdate):  # a store this app did not write: nothing
        summary_download({"clients": "x" * 10}, catalog, Settings())
    # every text is escaped (a title or risk never becomes markup)
    from dashboard.layout.capacity_story import summary_html

    evil = story_svc.CapacityStory(headline=("<img src=x onerror=alert(1)>",),
                                   risks=(story_svc.Risk("bad", "<script>x</script>"),),
                                   title="<b>t</b>")
    page = summary_html(evil, (), (), "now")
    assert "<img" not in page and "<script>" not in page and "&lt;script&gt;" in page
