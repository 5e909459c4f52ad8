"""The catalog is the one source of truth: the shipped files load, and bad files fail loudly,
naming the file, the line and the column."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dashboard.catalog import (
    AREAS,
    CatalogError,
    in_mainland_china,
    load_catalog,
    load_origins,
    load_pops,
)
from dashboard.settings import DATA_DIR
from tests.conftest import TEST_DATA

EXPECTED_CITIES = {
    "Hong Kong", "Singapore", "Mumbai", "Bangkok", "Manila", "Ho Chi Minh City", "Seoul", "Tokyo",
    "Kuala Lumpur", "Jakarta", "San Jose", "Ashburn", "Chicago", "Sao Paulo", "London",
    "Frankfurt am Main", "Madrid", "Paris", "Sydney",
}


def test_shipped_catalog_has_the_19_access_points_and_8_documented_origins(catalog):
    assert len(catalog.pops) == 19
    assert set(catalog.pops["city"]) == EXPECTED_CITIES
    # The product overview's five (CLB or ENI) and the three the ROS association resource
    # documents for internal-facing CLBs; each row says where it is documented.
    seed = {"cn-hongkong", "ap-southeast-1", "us-west-1", "us-east-1", "eu-central-1"}
    newer = {"eu-west-1", "ap-southeast-3", "ap-northeast-1"}
    assert set(catalog.origin_ids) == seed | newer
    assert set(catalog.pops["area"]) == set(AREAS)
    for oid in catalog.origin_ids:
        origin = catalog.origin(oid)
        want = {"CLB", "ENI"} if oid in seed else {"CLB"}
        assert set(origin["endpoint_types"]) == want
        assert "AnycastEIPAssociation" in origin["documented"]
        # each origin sits at the access point of its city (zero-length backbone in one metro)
        same = catalog.pops[catalog.pops["region_id"] == oid]
        assert len(same) == 1 and (same["lat"].iloc[0], same["lon"].iloc[0]) == (
            origin["lat"], origin["lon"])


def test_ids_are_url_safe_and_unique(catalog):
    ids = catalog.pop_ids
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Z0-9]{2,8}", i) for i in ids)
    assert catalog.pop_index("CDG") == list(ids).index("CDG")


def test_coordinate_arrays_are_read_only(catalog):
    lats = catalog.pop_lats
    assert lats.shape == (19,) and not lats.flags.writeable
    with pytest.raises(ValueError):
        lats[0] = 0.0


def test_every_origin_sits_at_an_access_point_city(catalog):
    # The five origin regions are also access points; the model relies on it for the
    # zero-length backbone leg when client, PoP and origin share a metro.
    pops = {(r.lat, r.lon) for r in catalog.pops.itertuples()}
    for r in catalog.origins.itertuples():
        assert (r.lat, r.lon) in pops


def test_unknown_ids_name_the_id(catalog):
    with pytest.raises(KeyError, match="XXX"):
        catalog.pop_index("XXX")
    with pytest.raises(KeyError, match="cn-beijing"):
        catalog.origin("cn-beijing")
    with pytest.raises(KeyError, match="ZZZ"):
        catalog.pop_mask(["CDG", "ZZZ"])
    assert catalog.pop_mask(["CDG", "LHR"]).sum() == 2


@pytest.mark.parametrize(
    ("name", "line", "column", "fragment"),
    [
        ("pops_duplicate_id.csv", 4, "id", "duplicate id 'HKG' (first on line 2)"),
        ("pops_lat_out_of_range.csv", 3, "lat", "outside [-90, 90]"),
        ("pops_lon_out_of_range.csv", 2, "lon", "outside [-180, 180]"),
        ("pops_lon_not_number.csv", 2, "lon", "'abc' is not a number"),
        ("pops_nan_lat.csv", 2, "lat", "outside [-90, 90]"),
        ("pops_missing_column.csv", 1, "lon", "missing required column(s) lon"),
        ("pops_mainland_country.csv", 3, "country_code", "Chinese mainland"),
        ("pops_mainland_coords.csv", 3, "lat", "lie in the Chinese mainland"),
        ("pops_bad_area.csv", 2, "area", "'Antarctica' is not one of"),
        ("pops_bad_id.csv", 2, "id", "URL-safe"),
        ("pops_bad_capacity.csv", 2, "capacity_gbps", "positive"),
        ("pops_empty_name.csv", 2, "name", "empty value"),
        ("pops_extra_field.csv", 2, None, "11 fields, header has 10"),
        ("pops_no_rows.csv", None, None, "no data rows"),
        ("pops_binary.csv", None, None, "not UTF-8"),
    ],
)
def test_broken_pops_files_name_file_line_and_column(name, line, column, fragment):
    path = TEST_DATA / name
    with pytest.raises(CatalogError) as err:
        load_pops(path)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    assert fragment in msg, msg
    assert err.value.line == line
    assert err.value.column == column
    if line is not None:
        assert f"line {line}" in msg
    if column is not None:
        assert f"column '{column}'" in msg


@pytest.mark.parametrize(
    ("name", "line", "column", "fragment"),
    [
        ("origins_mainland_region.csv", 2, "id", "Chinese mainland"),
        ("origins_bad_endpoint_type.csv", 2, "endpoint_types", "CLB, ENI, ALB, NLB"),
        ("origins_bad_id.csv", 2, "id", "not a region id"),
        ("origins_duplicate_id.csv", 3, "id", "duplicate id 'eu-central-1'"),
    ],
)
def test_broken_origins_files(name, line, column, fragment):
    with pytest.raises(CatalogError) as err:
        load_origins(TEST_DATA / name)
    assert fragment in str(err.value)
    assert (err.value.line, err.value.column) == (line, column)


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(CatalogError, match=re.escape(str(tmp_path / "nope.csv")) + ": file not found"):
        load_catalog(tmp_path / "nope.csv", DATA_DIR / "origins.csv")


def test_user_catalog_with_fewer_pops_loads(tmp_path: Path):
    src = (DATA_DIR / "pops.csv").read_text().splitlines()
    (tmp_path / "pops.csv").write_text("\n".join(src[:4]) + "\n")
    cat = load_catalog(tmp_path / "pops.csv", DATA_DIR / "origins.csv")
    assert cat.pop_ids == ("HKG", "SIN", "BOM")
    assert np.isnan(cat.pops["capacity_gbps"]).all()


@pytest.mark.parametrize(
    ("lat", "lon", "inside"),
    [
        (39.90, 116.40, True),   # Beijing
        (31.23, 121.47, True),   # Shanghai
        (23.13, 113.26, True),   # Guangzhou
        (43.80, 87.60, True),    # Urumqi
        (22.28, 114.17, False),  # Hong Kong
        (22.19, 113.54, False),  # Macau
        (25.03, 121.56, False),  # Taipei
        (21.03, 105.85, False),  # Hanoi
        (37.57, 126.98, False),  # Seoul
        (47.90, 106.90, False),  # Ulaanbaatar
    ],
)
def test_mainland_outline(lat, lon, inside):
    assert in_mainland_china(lat, lon) is inside


def test_positions_are_the_columns_as_plain_floats_in_a_fresh_dict(catalog):
    for table in ("pops", "origins"):
        frame = getattr(catalog, table)
        want = dict(zip(frame["id"].tolist(), zip(frame["lat"].to_numpy(float).tolist(),
                                                  frame["lon"].to_numpy(float).tolist())))
        got = catalog.positions(table)
        assert got == want and all(type(v) is float for p in got.values() for v in p)
        got.clear()  # a copy: the kept one is untouched
        assert catalog.positions(table) == want


def test_origin_record_is_the_origin_row_in_a_fresh_dict(catalog):
    for origin_id in catalog.origin_ids:
        row = catalog.origin(origin_id)
        got = catalog.origin_record(origin_id)
        assert list(got) == list(row.index)
        assert all(type(got[k]) is type(row[k]) and got[k] == row[k] for k in row.index)
        got["lat"] = 0.0  # a copy: the kept one is untouched
        assert catalog.origin_record(origin_id)["lat"] == row["lat"]
    with pytest.raises(KeyError, match="nowhere-1"):
        catalog.origin_record("nowhere-1")
