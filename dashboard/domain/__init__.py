"""The pure domain core: numpy/pandas/geographiclib only, no I/O and no web framework.

Every function states its units (degrees, km, ms) and its earth model (WGS84 ellipsoid or sphere).
"""
