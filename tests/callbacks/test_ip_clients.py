"""IP addresses as clients in the page, as services and callbacks called as plain functions: the
search box option and its ``ip`` request, uploads with an ``ip`` column (the partial-import
notice), links with ``ip=`` (rewritten without the address), and the hint when no database is
configured (services/ipclients.py, services/requests.py, services/events.py)."""

from __future__ import annotations

import base64
from urllib.parse import unquote

import pytest

from dashboard.callbacks.widgets import city_options
from dashboard.domain.scenario import Scenario
from dashboard.domain.scenario_url import to_query
from dashboard.gazetteer import load_gazetteer
from dashboard.services import events, ipclients
from dashboard.services.requests import parse_upload, resolve_request
from dashboard.settings import Settings
from tests.geoip_db import COUNTRY_ONLY_IP, LINKOPING, LONDON, OSLO_V6, UNKNOWN_IP, build_mmdb

NO_DB = Settings()


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(geoip_mmdb=build_mmdb(tmp_path_factory.mktemp("geoip") / "city.mmdb"))


def data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_search_box_offers_the_located_ip_and_adds_it(catalog, settings):
    opts = city_options(load_gazetteer(), f" {LONDON} ", settings=settings)
    assert opts == [{"label": f"{LONDON} · London, GB (±10 km)", "value": f"ip:{LONDON}",
                     "search": f" {LONDON}  {LONDON} · London, GB (±10 km)", "disabled": False}]
    ev = events.scenario_event(events.EDIT, "", {"op": "ip", "ip": LONDON}, None, None,
                               Scenario().to_dict(), catalog, settings)
    s = Scenario.from_dict(ev.store)
    assert [(c.lat, c.lon, c.name) for c in s.clients] == [
        (51.5142, -0.0931, f"{LONDON} · London, GB (±10 km)")]
    # the link carries the located point and the city, not the address
    assert LONDON not in unquote(ev.url_search)
    assert "IP · London, GB (±10 km)" in unquote(ev.url_search)


@pytest.mark.parametrize("text, level, words", [
    ("10.1.2.3", "warning", "private address (RFC 1918"),
    (UNKNOWN_IP, "warning", "not in the GeoIP database"),
    (COUNTRY_ONLY_IP, "warning", "no coordinates"),
    ("999.1.1.1", "error", "not an IPv4 or IPv6 address"),
])
def test_an_ip_without_a_location_is_a_notice_and_adds_nothing(catalog, settings, text, level,
                                                               words):
    edit = resolve_request({"op": "ip", "ip": text}, Scenario(), catalog, settings)
    assert edit["op"] == "notice"
    note = edit["notices"][0]
    assert note["level"] == level and words in note["text"] and "Nothing was added" in note["text"]
    opts = city_options(load_gazetteer(), text, settings=settings)
    assert len(opts) == 1 and words in opts[0]["label"]


def test_without_a_database_the_page_says_how_to_configure_it(catalog):
    opts = city_options(load_gazetteer(), LONDON, settings=NO_DB)
    assert "ANYCAST_GEOIP_MMDB" in opts[0]["label"]
    edit = resolve_request({"op": "ip", "ip": LONDON}, Scenario(), catalog, NO_DB)
    assert edit["op"] == "notice" and "ANYCAST_GEOIP_MMDB" in edit["notices"][0]["text"]
    assert ipclients.status_note(NO_DB) == ""  # the page is unchanged until an IP is typed
    # and nothing else changes: cities are still found
    assert city_options(load_gazetteer(), "paris", settings=NO_DB)[0]["label"].startswith("Paris")
    rows, notices = parse_upload(data_url(f"ip\n{LONDON}\n"), "log.csv", NO_DB, 100)
    assert rows == [] and "ANYCAST_GEOIP_MMDB" in notices[0][1]


def test_status_note_names_the_database_and_its_attribution(tmp_path):
    s = Settings(geoip_mmdb=build_mmdb(tmp_path / "dbip.mmdb", "dbip"))
    note = ipclients.status_note(s)
    assert "DBIP-City-Lite" in note and "DB-IP" in note and "CC BY 4.0" in note
    assert "no file" in ipclients.status_note(Settings(geoip_mmdb=tmp_path / "gone.mmdb"))


def test_upload_of_ips_keeps_good_rows_and_lists_the_others_by_line(settings):
    csv = (f"ip,name,weight,url\n{LONDON},shop,2,/a\n10.0.0.1,,1,/b\n{UNKNOWN_IP},,1,/c\n"
           f"{OSLO_V6},,x,/d\nnope,,1,/e\n{LINKOPING},,1,/f\n")
    rows, notices = parse_upload(data_url(csv), "log.csv", settings, 100)
    assert [(r["name"], r["weight"]) for r in rows] == [
        ("shop · London, GB (±10 km)", 2.0), (f"{LINKOPING} · Linköping, SE (±76 km)", 1.0)]
    (level, text), = notices
    assert level == "warning" and "4 lines rejected, the 2 good rows added" in text
    for line, words in ((3, "RFC 1918"), (4, "not in the GeoIP database"), (5, "weight"),
                        (6, "not an IPv4")):
        assert f"line {line}:" in text and words in text
    assert text.index("line 3") < text.index("line 4") < text.index("line 5")


def test_upload_of_ips_where_none_locates_adds_nothing(settings):
    rows, notices = parse_upload(data_url("ip\n10.0.0.1\n192.168.1.1\n"), "lan.csv", settings,
                                 100)
    assert rows == [] and notices[0][0] == "error" and "none of the 2 rows" in notices[0][1]


def test_upload_of_ips_respects_the_room_left(settings):
    rows, notices = parse_upload(data_url(f"ip\n{LONDON}\n{LINKOPING}\n"), "x.csv", settings, 1)
    assert rows == [] and "more than 1" in notices[0][1]


def test_a_link_with_ip_is_located_and_rewritten_without_the_address(catalog, settings):
    search = f"?clients=48.86,2.35,Paris&ip={LONDON},10.0.0.9&ip={OSLO_V6}"
    ev = events.scenario_event(events.PAGE_LOAD, search, None, None, None, None, catalog,
                               settings)
    s = Scenario.from_dict(ev.store)
    assert [c.name for c in s.clients] == ["Paris", f"{LONDON} · London, GB (±10 km)",
                                           f"{OSLO_V6} · Oslo, NO (±20 km)"]
    assert any("10.0.0.9" in t and "private" in t for _lvl, t in ev.notices)
    url = unquote(ev.url_search)
    assert "ip=" not in url and LONDON not in url and OSLO_V6 not in url
    assert url.count("IP · ") == 2
    # the rewritten link opens the same points, named by their city
    again = events.scenario_event(events.PAGE_LOAD, ev.url_search, None, None, None, None,
                                  catalog, settings)
    names = [c.name for c in Scenario.from_dict(again.store).clients]
    assert names == ["Paris", "IP · London, GB (±10 km)", "IP · Oslo, NO (±20 km)"]


def test_a_link_with_ip_and_no_database_says_so_once(catalog):
    ev = events.scenario_event(events.PAGE_LOAD, f"?ip={LONDON},{LINKOPING}", None, None, None,
                               None, catalog, NO_DB)
    assert Scenario.from_dict(ev.store).clients == ()
    notes = [t for _l, t in ev.notices if "ANYCAST_GEOIP_MMDB" in t]
    assert len(notes) == 1 and "2 IP address(es) not added" in notes[0]


def test_too_many_ips_in_a_link_are_capped_with_a_warning(catalog, settings):
    many = ",".join([LONDON] * 60)
    ev = events.scenario_event(events.PAGE_LOAD, f"?ip={many}", None, None, None, None, catalog,
                               settings)
    assert len(Scenario.from_dict(ev.store).clients) == 50
    assert any("only the first 50" in t for _l, t in ev.notices)


def test_the_url_codec_redacts_ip_names_only():
    s = Scenario.from_dict({"clients": [
        {"lat": 1, "lon": 2, "name": f"{LONDON} · London, GB (±10 km)"},
        {"lat": 3, "lon": 4, "name": "shop · London"}]})
    q = unquote(to_query(s))
    assert LONDON not in q and "IP · London, GB" in q and "shop · London" in q
