"""The exploration behind the end-user variant table (docs/calibration.md, "Variants tried and
what the data allows"; issue 19): its log-error fitter recovers a known access term, the site
rank says which probes were routed past nearer sites, and its baseline row is the shipped fit
(the same held-out figures as ``meta.access``) when the measurement files are beside the
repository (``../shared/data/catchment/``; never copied in)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration import access as A
from calibration import access_explore as X
from dashboard import latency
from tests.conftest import ROOT

DATA = ROOT.parent / "shared" / "data" / "catchment"
CATCHMENT = DATA / "anycast-catchments-f-i-root-2015.csv"
SITES = DATA / "anycast-sites-f-i-root-2015.csv"


def test_log_error_fit_recovers_access_delay_and_factor_despite_outliers():
    rng = np.random.default_rng(19)
    dc = rng.uniform(2, 200, 2000)
    y = (7.5 + 1.25 * dc) * np.exp(rng.normal(0, 0.05, dc.size))
    y[:300] *= 3.0  # 15 % detours: a median fit ignores them
    a, k = X.lad_relative(np.stack([np.ones_like(dc), dc], 1), y)
    assert a == pytest.approx(7.5, abs=0.6) and k == pytest.approx(1.25, abs=0.03)


def test_site_rank_counts_nearer_sites_of_the_same_service():
    sites = pd.DataFrame({"service_key": ["f", "f", "f", "i"], "observed_in_data": True,
                          "site_lat": [0.0, 0.0, 0.0, 0.0], "site_lon": [1.0, 5.0, 10.0, 0.5]})
    eu = pd.DataFrame({"svc": ["F-root", "F-root", "I-root"], "client_lat": 0.0,
                       "client_lon": 0.0})
    from dashboard.domain.geodesy import geodesic_km
    reached_lon = np.array([1.0, 10.0, 0.5])
    eu["km"] = geodesic_km(np.zeros(3), np.zeros(3), np.zeros(3), reached_lon)
    rank, near = X.site_rank(eu, sites)
    assert rank.tolist() == [1, 3, 1]
    assert near[1] == pytest.approx(eu["km"][0])


def test_wrong_arguments_print_usage_and_fail(capsys):
    assert X.main([]) == 2
    assert "access_explore" in capsys.readouterr().out


@pytest.mark.skipif(not (CATCHMENT.exists() and SITES.exists()),
                    reason=f"measurement files not here: {DATA}")
def test_baseline_row_is_the_shipped_fit_held_out_by_service():
    P = latency.default_params()
    meta = latency.load_metadata()["access"]
    rows = A.load_rows(CATCHMENT, P)
    eu = rows[rows["platform"] == A.END_USER].reset_index(drop=True)
    fit = X.variants()["a + k*dc (shipped structure)"]
    y, km = eu["rtt_ms"].to_numpy(), eu["km"].to_numpy()
    for svc in sorted(eu["svc"].unique()):
        te = (eu["svc"] == svc).to_numpy()
        pred = fit(eu[~te], eu[te])
        got = A.errors(y[te], pred, km[te])
        want = meta["held_out_service"][f"{svc} held out"][meta["structure"]]
        assert got["mdape_pct"] == pytest.approx(want["mdape_pct"], abs=0.1)
        assert got["median_signed_pct"] == pytest.approx(want["median_signed_pct"], abs=0.1)
