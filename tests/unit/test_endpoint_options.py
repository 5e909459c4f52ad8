"""The endpoints panel's access point choices (issue 16: from the PoP table's columns instead of
its rows) are what the rows gave, for the catalog and for one with planned PoPs."""

from __future__ import annotations

from dashboard.domain.planned import PlannedPop
from dashboard.domain.scenario import Scenario
from dashboard.services.endpoints import endpoints_view
from dashboard.services.planned import effective_catalog
from dashboard.services.scenario import Loaded


def _rows_form(catalog) -> tuple:
    return tuple((str(r.id), f"{r.id} · {r.city}") for r in catalog.pops.itertuples())


def test_pop_options_equal_the_rows_form(catalog):
    for scenario in (Scenario(), Scenario(planned=(PlannedPop("XYZ1", 10.0, 20.0, "Somewhere"),
                                                   PlannedPop("XYZ2", -5.0, 40.0)))):
        cat = effective_catalog(catalog, scenario)
        loaded = Loaded(scenario, "eu-central-1")
        assert endpoints_view(loaded, cat).pop_options == _rows_form(cat)
