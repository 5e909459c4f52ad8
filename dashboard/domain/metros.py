"""Metro codes that carriers write into router hostnames, and where those metros are.

Many carriers name a router after the metro it sits in: an IATA airport code (``xe-0.fra10.ip4.
gtt.net``: Frankfurt, ``ae12.cr1.sin1...``: Singapore), a CLLI-like code of four city letters and
a two-letter state or country (``ae-1.r21.frnkge08.de.bb.gin.ntt.net``: FRaNKfurt GErmany,
``snjsca``: San Jose CA), or the city written out (``london``). This table maps such a token to the
metro's coordinates. It is curated by hand: the coordinates are the GeoNames city point (the same
gazetteer the dashboard ships, ``data/cities15000.csv.gz``, id in ``source``), and a code is listed
only when it is the usual reading of that token in carrier hostnames (IATA city or airport code,
or a code seen in the carrier's published naming scheme). Tokens that are generic router words
(``ae``, ``xe``, ``cr``, ``pe``, ``man``, ``core``) are deliberately absent: a false match is worse
than no match.

Pure data, no I/O. Used by :mod:`dashboard.domain.observe`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METROS", "Metro", "metro_for_token"]


@dataclass(frozen=True)
class Metro:
    """A metro area: display name, ISO country code, WGS84 degrees, where the point comes from
    and the hostname tokens that name it (lower case, letters only)."""

    name: str
    country: str
    lat: float
    lon: float
    source: str
    codes: tuple[str, ...]


#: (name, country, lat, lon, source, codes). Coordinates: GeoNames cities15000 rows.
_ROWS: tuple[tuple[str, str, float, float, str, str], ...] = (
    # Europe
    ("London", "GB", 51.50853, -0.12574, "GeoNames 2643743",
     "lon ldn lhr lcy lgw stn londen london lndn lndngb"),
    ("Frankfurt", "DE", 50.11552, 8.68417, "GeoNames 2925533",
     "fra frnk frnkge frankfurt ffm frk"),
    ("Paris", "FR", 48.85341, 2.34880, "GeoNames 2988507",
     "par cdg ory parsfr paris prs"),
    ("Amsterdam", "NL", 52.37403, 4.88969, "GeoNames 2759794",
     "ams amstnl amsterdam amst"),
    ("Madrid", "ES", 40.41650, -3.70256, "GeoNames 3117735", "mad mdrdsp madrid mdr"),
    ("Marseille", "FR", 43.29695, 5.38107, "GeoNames 2995469", "mrs mrslfr marseille"),
    ("Milan", "IT", 45.46427, 9.18951, "GeoNames 3173435", "mil mxp milan milano mlanit"),
    ("Vienna", "AT", 48.20849, 16.37208, "GeoNames 2761369", "vie vienna wien"),
    ("Zurich", "CH", 47.36667, 8.55000, "GeoNames 2657896", "zrh zurich"),
    ("Stockholm", "SE", 59.32938, 18.06871, "GeoNames 2673730", "sto arn stkhlm stockholm"),
    ("Copenhagen", "DK", 55.67594, 12.56553, "GeoNames 2618425", "cph copenhagen"),
    ("Warsaw", "PL", 52.22977, 21.01178, "GeoNames 756135", "waw warsaw"),
    ("Brussels", "BE", 50.85045, 4.34878, "GeoNames 2800866", "bru brussels"),
    ("Dublin", "IE", 53.33306, -6.24889, "GeoNames 2964574", "dub dublin"),
    ("Hamburg", "DE", 53.55073, 9.99302, "GeoNames 2911298", "ham hmbgge hamburg"),
    ("Munich", "DE", 48.13743, 11.57549, "GeoNames 2867714", "muc mnchge munich"),
    ("Dusseldorf", "DE", 51.22319, 6.77927, "GeoNames 2934246", "dus dsdfge dusseldorf"),
    ("Istanbul", "TR", 41.01384, 28.94966, "GeoNames 745044", "ist istanbul"),
    # Asia Pacific
    ("Singapore", "SG", 1.28967, 103.85007, "GeoNames 1880252",
     "sin sng sngpsi singapore sgp"),
    ("Hong Kong", "HK", 22.27832, 114.17469, "GeoNames 1819729", "hkg hongkong hkga hkgahk"),
    ("Tokyo", "JP", 35.68950, 139.69171, "GeoNames 1850147",
     "tyo tok nrt hnd tokyjp tokyo"),
    ("Osaka", "JP", 34.69379, 135.50107, "GeoNames 1853909", "osa kix osakjp osaka"),
    ("Seoul", "KR", 37.56600, 126.97840, "GeoNames 1835848", "sel icn seoul"),
    ("Taipei", "TW", 25.05306, 121.52639, "GeoNames 1668341", "tpe taipei"),
    ("Manila", "PH", 14.60420, 120.98220, "GeoNames 1701668", "mnl manila"),
    ("Bangkok", "TH", 13.75398, 100.50144, "GeoNames 1609350", "bkk bangkok"),
    ("Kuala Lumpur", "MY", 3.14120, 101.68653, "GeoNames 1735161", "kul kualalumpur"),
    ("Jakarta", "ID", -6.21462, 106.84513, "GeoNames 1642911", "jkt cgk jakarta"),
    ("Ho Chi Minh City", "VN", 10.82302, 106.62965, "GeoNames 1566083", "sgn hcm hcmc"),
    ("Hanoi", "VN", 21.02450, 105.84117, "GeoNames 1581130", "han hanoi"),
    ("Mumbai", "IN", 19.07283, 72.88261, "GeoNames 1275339", "bom mum mumbai"),
    ("Chennai", "IN", 13.08784, 80.27847, "GeoNames 1264527", "maa chennai"),
    ("Dubai", "AE", 25.07725, 55.30927, "GeoNames 292223", "dxb dubai"),
    ("Sydney", "AU", -33.86785, 151.20732, "GeoNames 2147714", "syd sydney"),
    ("Melbourne", "AU", -37.81400, 144.96332, "GeoNames 2158177", "mel melbourne"),
    ("Auckland", "NZ", -36.84853, 174.76349, "GeoNames 2193733", "akl auckland"),
    # Americas
    ("San Jose", "US", 37.33939, -121.89496, "GeoNames 5392171",
     "sjc sv snjs snjsca sanjose svl"),
    ("Palo Alto", "US", 37.44188, -122.14302, "GeoNames 5380748", "pao paloalto plalca"),
    ("Santa Clara", "US", 37.35411, -121.95524, "GeoNames 5393015", "santaclara snclca"),
    ("Los Angeles", "US", 34.05223, -118.24368, "GeoNames 5368361",
     "lax lsanca losangeles"),
    ("Seattle", "US", 47.60621, -122.33207, "GeoNames 5809844", "sea sttlwa seattle"),
    ("Ashburn", "US", 39.04372, -77.48749, "GeoNames 4744870",
     "iad ash asbnva ashburn"),
    ("Washington", "US", 38.89511, -77.03637, "GeoNames 4140963", "wdc was dca washdc"),
    ("Reston", "US", 38.96872, -77.34110, "GeoNames 4781530", "rstnva reston"),
    ("New York", "US", 40.71427, -74.00597, "GeoNames 5128581",
     "nyc jfk lga nycmny newyork"),
    ("Newark", "US", 40.73566, -74.17237, "GeoNames 5101798", "ewr nwrknj newark"),
    ("Chicago", "US", 41.85003, -87.65005, "GeoNames 4887398", "chi ord chcgil chicago"),
    ("Dallas", "US", 32.78306, -96.80667, "GeoNames 4684888", "dfw dal dllstx dallas"),
    ("Atlanta", "US", 33.74900, -84.38798, "GeoNames 4180439", "atl atlnga atlanta"),
    ("Denver", "US", 39.73915, -104.98470, "GeoNames 5419384", "den dnvrco denver"),
    ("Miami", "US", 25.77427, -80.19366, "GeoNames 4164138", "mia miami"),
    ("Toronto", "CA", 43.70643, -79.39864, "GeoNames 6167865", "yyz toronto"),
    ("Sao Paulo", "BR", -23.54750, -46.63611, "GeoNames 3448439",
     "gru sao spo spaubr saopaulo"),
    ("Rio de Janeiro", "BR", -22.90642, -43.18223, "GeoNames 3451190", "gig rio"),
    ("Santiago", "CL", -33.45694, -70.64827, "GeoNames 3871336", "scl santiago"),
    ("Buenos Aires", "AR", -34.61315, -58.37723, "GeoNames 3435910", "eze bue buenosaires"),
    ("Mexico City", "MX", 19.42847, -99.12766, "GeoNames 3530597", "mex mexico"),
)


def _build() -> tuple[tuple[Metro, ...], dict[str, Metro]]:
    metros, by_code = [], {}
    for name, cc, lat, lon, source, codes in _ROWS:
        # a code ending in a digit cannot be matched (tokens are read without trailing digits)
        m = Metro(name, cc, lat, lon, source, tuple(c for c in codes.split() if c.isalpha()))
        metros.append(m)
        for code in m.codes:
            if code in by_code:  # a code names one metro only (an ambiguous code is useless)
                raise ValueError(f"metro code {code!r} is listed twice")
            by_code[code] = m
    return tuple(metros), by_code


METROS, _BY_CODE = _build()


def metro_for_token(token: str) -> Metro | None:
    """The metro a hostname token names (``"frnkge"`` -> Frankfurt), or None. ``token`` is one
    label piece, lower case, without its trailing digits."""
    return _BY_CODE.get(token)
