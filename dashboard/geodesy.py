"""Public import path for the geodesy core (see :mod:`dashboard.domain.geodesy`)."""

from dashboard.domain.geodesy import geodesic_km, great_circle_path, nearest, validate_coords

__all__ = ["geodesic_km", "great_circle_path", "nearest", "validate_coords"]
