"""The pure mapping of the Anycast EIP API's responses (dashboard.domain.provider): catalog ids,
endpoints -> the scenario load, catalog report, the saved-responses file and its caps."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from dashboard.domain import provider as p
from dashboard.domain.edits import EditContext, apply_edit
from dashboard.domain.scenario import Client, Scenario
from tests.conftest import TEST_DATA

IDS = p.CatalogIds({"SJC": "us-west-1", "IAD": "us-east-1", "FRA": "eu-central-1",
                    "HKG": "cn-hongkong", "CDG": ""},
                   ("us-west-1", "us-east-1", "eu-central-1", "cn-hongkong"))
CTX = EditContext(max_clients=100, default_region="eu-central-1",
                  pop_ids=tuple(IDS.pop_regions))


def bind(region, mode="Normal", pops=(), typ="SlbInstance", status="BINDED"):
    return {"AssociationMode": mode, "BindInstanceRegionId": region, "BindInstanceType": typ,
            "Status": status, "PopLocations": [{"PopLocation": x} for x in pops]}


def describe(*binds, aid="aeip-1"):
    return {"AnycastId": aid, "IpAddress": "203.0.113.1", "AnycastEipBindInfoList": list(binds)}


def test_api_pop_ids_map_to_catalog_rows_by_region():
    assert IDS.pop_for("us-west-1-pop") == "SJC"
    assert IDS.pop_for("SJC") == "SJC" and IDS.pop_for("sjc") == "SJC"
    assert IDS.pop_for("me-central-1-pop") is None
    assert IDS.pop_for("us-west-1") is None  # a region id is not an access point id


def test_describe_becomes_the_load_of_default_and_normal_endpoints():
    cfg = p.map_eip(describe(bind("eu-central-1", "Default", ["us-west-1-pop", "us-east-1-pop"]),
                             bind("us-west-1", pops=["us-west-1-pop", "us-east-1-pop"]),
                             bind("cn-hongkong", pops=["cn-hongkong-pop"])), IDS)
    assert cfg.origin == "eu-central-1" and cfg.endpoint_type == "CLB"
    assert cfg.mappings == (("us-west-1", ("IAD", "SJC")), ("cn-hongkong", ("HKG",)))
    # the Default's own list is "all access points" on a first association: not a mapping
    assert any("not a mapping" in t for _l, t in cfg.notes)
    new, notices = apply_edit(Scenario(clients=(Client(1, 2),)), cfg.load_edit(), CTX)
    assert new.origin == "eu-central-1" and dict(new.mappings) == {"us-west-1": ("IAD", "SJC"),
                                                                    "cn-hongkong": ("HKG",)}
    assert new.clients == (Client(1, 2),)  # only the endpoints change
    assert notices[-1][0] == "info" and "aeip-1" in notices[-1][1]


def test_unknown_ids_are_reported_not_dropped_silently():
    cfg = p.map_eip(describe(bind("us-east-1", "Default", typ="NetworkInterface"),
                             bind("us-west-1", pops=["us-west-1-pop", "me-central-1-pop"]),
                             bind("sa-east-1", pops=["us-east-1-pop"])), IDS)
    assert cfg.endpoint_type == "ENI" and cfg.mappings == (("us-west-1", ("SJC",)),)
    text = " ".join(t for _l, t in cfg.notes)
    assert "me-central-1-pop" in text and "sa-east-1" in text
    assert "us-west-1 is CLB, the Default is ENI" in text


def test_default_in_an_unknown_region_loads_nothing_and_says_why():
    cfg = p.map_eip(describe(bind("me-central-1", "Default")), IDS)
    assert not cfg.loadable and cfg.load_edit()["origin"] is None
    assert cfg.notes[-1][0] == "error" and "me-central-1" in cfg.notes[-1][1]
    assert not p.map_eip(describe(), IDS).loadable  # no endpoint at all


def test_gone_endpoints_and_odd_types_are_notes():
    cfg = p.map_eip(describe(bind("us-east-1", "Default", typ="Mystery"),
                             bind("us-west-1", pops=["us-west-1-pop"], status="UNBINDING")), IDS)
    assert cfg.endpoint_type == "CLB" and cfg.mappings == ()
    text = " ".join(t for _l, t in cfg.notes)
    assert "Mystery" in text and "us-west-1 is UNBINDING: not loaded" in text


def test_single_region_types_drop_normal_endpoints():
    cfg = p.map_eip(describe(bind("us-east-1", "Default", typ="AlbInstance"),
                             bind("us-west-1", pops=["us-west-1-pop"])), IDS)
    assert cfg.endpoint_type == "ALB" and cfg.mappings == ()
    new, notices = apply_edit(Scenario(), cfg.load_edit(), CTX)
    assert new.endpoint_type == "ALB" and new.origin == "us-east-1", notices


def test_the_reducer_refuses_a_load_that_breaks_a_rule_or_names_unknown_pops():
    s = Scenario()
    bad = {"op": "provider_load", "origin": "us-east-1", "endpoint_type": "CLB",
           "mappings": [["us-west-1", ["SJC"]], ["cn-hongkong", ["SJC"]]]}
    new, notices = apply_edit(s, bad, CTX)
    assert new is s and notices[-1][0] == "error" and "SJC" in notices[-1][1]
    new, notices = apply_edit(s, dict(bad, mappings=[["us-west-1", ["XXX"]]]), CTX)
    assert new is s and "XXX" in notices[-1][1]
    for junk in (None, "x", [["a"]], [["a", "b"]], [[1, []]], [["a", [1]]]):
        new, notices = apply_edit(s, dict(bad, mappings=junk), CTX)
        assert new is s and notices[-1][0] == "error"
    new, notices = apply_edit(s, dict(bad, origin=None), CTX)
    assert new is s and notices[-1][0] == "error"


def test_catalog_diff_names_new_and_missing_ids():
    pops = {"AnycastPopLocationList": [{"RegionId": "us-west-1-pop", "RegionName": "x"},
                                       {"RegionId": "me-central-1-pop", "RegionName": "y"}]}
    regions = {"AnycastServerRegionList": [{"RegionId": "us-west-1"},
                                           {"RegionId": "ap-southeast-5"}]}
    d = p.catalog_diff(IDS, pops, regions)
    assert d.pops_new == ("me-central-1-pop",) and d.regions_new == ("ap-southeast-5",)
    assert set(d.pops_missing) == {"IAD", "FRA", "HKG", "CDG"}
    assert "SJC" not in d.pops_missing and "us-west-1" not in d.regions_missing
    text = " ".join(t for _l, t in d.summary())
    assert "me-central-1-pop" in text and "ap-southeast-5" in text
    assert p.catalog_diff(IDS).summary() == []


def test_list_pages_merge_dedupe_and_cap():
    page = {"AnycastList": [{"AnycastId": f"aeip-{i}", "IpAddress": "203.0.113.1",
                             "AnycastEipBindInfoList": [{"BindInstanceRegionId": "us-west-1"}]}
                            for i in range(3)], "NextToken": "t2"}
    eips, token = p.parse_list_page(page)
    assert token == "t2" and eips[0].regions == ("us-west-1",)
    merged, cut = p.merge_pages([eips, eips], cap=2)
    assert [e.anycast_id for e in merged] == ["aeip-0", "aeip-1"] and cut
    assert p.parse_list_page({"body": {"AnycastList": []}}) == ([], "")  # the SDK's to_map()


def test_the_saved_fixture_parses():
    saved = p.parse_saved((TEST_DATA / "provider_saved.json").read_bytes(), 1 << 20)
    assert [e.anycast_id for e in saved.eips] == ["aeip-web0001", "aeip-api0002",
                                                  "aeip-lab0003"]
    assert p.describe_for(saved, "aeip-api0002")["IpAddress"] == "203.0.113.20"
    assert p.describe_for(saved, "aeip-lab0003") is None
    assert saved.pop_locations is not None and saved.server_regions is not None


def test_a_bare_describe_body_is_a_saved_file_too():
    saved = p.parse_saved(json.dumps(describe(bind("us-east-1", "Default"))), 10_000)
    assert [e.anycast_id for e in saved.eips] == ["aeip-1"] and len(saved.describes) == 1


@pytest.mark.parametrize("data,words", [
    (b"x" * 2000, "larger than the 1,000-byte limit"),
    (b"{not json", "not JSON"),
    (b"[]", "must be a JSON object"),
    (b'{"foo": 1}', "none of ListAnycastEipAddresses"),
    (json.dumps({"DescribeAnycastEipAddress": {"AnycastId": "a b",
                                               "AnycastEipBindInfoList": []}}).encode(),
     "is not an id"),
    (json.dumps({"DescribeAnycastEipAddress": describe(
        *[bind(f"r{i}") for i in range(p.MAX_ENDPOINTS + 1)])}).encode()[:900], "not JSON"),
    (json.dumps({"ListAnycastEipAddresses": {"AnycastList": "nope"}}).encode(),
     "AnycastList must be a list"),
])
def test_bad_files_get_a_message_naming_the_problem(data, words):
    with pytest.raises(p.ProviderDataError, match=words.replace("(", r"\(")):
        p.parse_saved(data, 1000)


def test_counts_are_capped():
    pages = [{"AnycastList": [{"AnycastId": f"aeip-{k}-{i}"} for i in range(p.MAX_EIPS)]}
             for k in range(2)]
    with pytest.raises(p.ProviderDataError, match="more than 500 Anycast EIPs"):
        p.parse_saved(json.dumps({"ListAnycastEipAddresses": pages}), 1 << 20)
    many = describe(*[bind(f"r{i}") for i in range(p.MAX_ENDPOINTS + 1)])
    with pytest.raises(p.ProviderDataError, match="at most 50"):
        p.parse_describe(many)
    pops = {"AnycastPopLocationList": [{"RegionId": f"x{i}-pop"} for i in range(p.MAX_POPS + 1)]}
    with pytest.raises(p.ProviderDataError, match="at most"):
        p.catalog_diff(IDS, pops)


# -- properties ---------------------------------------------------------------------------------

REGIONS = list(IDS.origin_ids)
API_POP = {pid: f"{r}-pop" for pid, r in IDS.pop_regions.items() if r}


@given(st.permutations(REGIONS), st.lists(st.sampled_from(sorted(API_POP)), unique=True),
       st.integers(0, 3), st.randoms(use_true_random=False))
def test_mapping_round_trips_any_valid_configuration(order, pops, n_normal, rnd):
    """Any valid configuration written as the API would describe it maps back to itself."""
    default, normals = order[0], order[1:1 + n_normal]
    want: dict[str, list[str]] = {r: [] for r in normals}
    for pid in pops:
        if normals:
            want[rnd.choice(normals)].append(pid)
    body = describe(bind(default, "Default", list(API_POP.values())),
                    *[bind(r, pops=[API_POP[x] for x in want[r]]) for r in normals])
    cfg = p.map_eip(body, IDS)
    assert cfg.origin == default
    assert dict(cfg.mappings) == {r: tuple(sorted(v)) for r, v in want.items()}
    new, notices = apply_edit(Scenario(), cfg.load_edit(), CTX)
    assert dict(new.mappings) == dict(cfg.mappings), notices


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["AnycastId", "AnycastEipBindInfoList", "PopLocations", "PopLocation",
                         "AssociationMode", "BindInstanceRegionId", "RegionId", "body",
                         "AnycastList", "Status", "x"]), kids, max_size=5),
    max_leaves=20)


@given(JSONISH)
def test_hostile_json_is_a_data_error_or_a_result_never_a_crash(value):
    for fn in (lambda v: p.map_eip(v, IDS), lambda v: p.parse_list_page(v),
               lambda v: p.catalog_diff(IDS, v, v),
               lambda v: p.parse_saved(json.dumps(v), 100_000)):
        try:
            fn(value)
        except p.ProviderDataError:
            pass


@pytest.mark.parametrize("text", ["[" * 50_000 + "]" * 50_000,
                                  '{"a":' * 30_000 + "1" + "}" * 30_000])
def test_deeply_nested_json_is_a_data_error_not_a_crash(text):
    """A saved-responses file nested beyond the JSON parser's stack (a hostile upload or API
    body) is refused with a message (it was an HTML 500 through POST /api/v1/provider)."""
    with pytest.raises(p.ProviderDataError, match="nested too deeply"):
        p.parse_saved(text, 10_000_000)
