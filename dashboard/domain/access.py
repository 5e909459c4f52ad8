"""Who the clients of a scenario are (issue 19): end users or data-centre servers.

The latency model has two client types (:data:`dashboard.domain.latency.ACCESS_TYPES`,
``LatencyParams.access``): ``"datacenter"`` is the server-to-server fit (WonderProxy's hosting
data centres, no last mile); ``"end-user"`` adds the access-network term fitted on RIPE Atlas
probes in homes and offices to every internet leg (client -> access point and the direct path
client -> origin; never the backbone). See ``docs/calibration.md``, "End users vs data centres".

The dashboard's clients are end users unless a scenario says otherwise: :data:`DEFAULT_ACCESS`
is ``"end-user"`` for the page, the API and the CLI. The shipped parameter file keeps
``"datacenter"`` (the calibration's base); the app layer applies the scenario's type with
:func:`dashboard.domain.latency.with_access`.

The access type never changes which access point a client lands on, under either routing
policy: the term adds the same delay for one client to every internet leg it could take and
scales them all by the same factor (>= 1), so the order of the legs is kept. It changes RTTs,
savings, percentiles and the internet-leg gaps behind the BGP flags.

Pure: no I/O.
"""

from __future__ import annotations

from dashboard.domain.latency import ACCESS_TYPES

END_USER = "end-user"
DATACENTER = "datacenter"
#: The dashboard's clients are end users unless a scenario says otherwise.
DEFAULT_ACCESS = END_USER
#: Every access type, the default first (the radio's order, the API's and CLI's choices).
ACCESS_CHOICES = (END_USER, DATACENTER)
assert set(ACCESS_CHOICES) == set(ACCESS_TYPES)
#: One line per type, for help texts, notices, the API and the CLI.
DESCRIPTIONS = {
    END_USER: "end users (homes, offices, mobile): the access network is included in every "
              "internet leg (fitted on RIPE Atlas probes)",
    DATACENTER: "data-centre servers: no access network (the server-to-server fit on "
                "WonderProxy's data centres)",
}
#: What the key numbers say the RTTs are for.
SHOWN = {
    END_USER: "RTTs for end-user clients (access network included)",
    DATACENTER: "RTTs for data-centre clients (no access network)",
}


def check_access(value: object) -> str:
    """``value`` as an access type; ``ValueError`` naming the choices otherwise."""
    if isinstance(value, str) and value.strip().lower() in ACCESS_CHOICES:
        return value.strip().lower()
    shown = repr(value)[:40]
    raise ValueError(f"unknown client access type {shown}: choose "
                     + " or ".join(ACCESS_CHOICES))
