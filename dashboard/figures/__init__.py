"""Pure Plotly figure builders, one module per view: data in, ``go.Figure`` out; no Dash import,
no I/O, no globals mutated.

- :mod:`~dashboard.figures.map`: the world map (named, fixed trace order) and its layers
- :mod:`~dashboard.figures.cdf`: the RTT distribution chart of the map view
- :mod:`~dashboard.figures.capacity`: capacity map, load per access point, N-1 chart
- :mod:`~dashboard.figures.support`: modelled RTT via each access point for one client
- :mod:`~dashboard.figures.common`: colours, label escaping and typed arrays shared by several

Import the module that defines a name (``from dashboard.figures import map as map_figures``):
this package re-exports nothing.
"""
