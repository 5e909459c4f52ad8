"""The capacity map's readability (issue 17): hoverable catchments, only the largest spill-over
flows drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.figures import capacity as capacity_figures


def test_catchment_cells_name_their_access_point(catalog):
    pops = catalog.pops
    cpop = np.array([0, 0, 3, 18])
    hover = capacity_figures.catchment_hover(pops, cpop)
    assert list(hover["text"]) == [pops["id"].iloc[i] for i in cpop]
    assert "Catchment of <b>%{text}</b>" in hover["hovertemplate"]


def test_only_the_largest_flows_are_drawn():
    flows = pd.DataFrame({"from_pop": [f"P{i}" for i in range(30)], "to_pop": ["X"] * 30,
                          "gbps": np.arange(30, dtype=float)})
    drawn = capacity_figures.largest_flows(flows)
    assert len(drawn) == capacity_figures.MAX_FLOWS_DRAWN
    assert list(drawn["gbps"]) == sorted(range(30 - capacity_figures.MAX_FLOWS_DRAWN, 30),
                                         reverse=True)
    assert len(capacity_figures.largest_flows(flows.iloc[:1])) == 0  # 0 Gbps: not a flow
