"""Run-time settings, read once from the environment into a frozen object.

Everything configurable lives here so that the app, the CLI and the tests agree on names and
defaults; ``docs``/README list the same variables (a test keeps them in step).

This is the only module of the package that reads the process environment (a test scans the
sources): the app reads :meth:`Settings.from_env` once at start-up; the few readers that must
follow the environment at the point of use (the latency parameter file behind
``dashboard.latency.default_params``, the cache's code version, the production guard's debug
variables) call the small functions below, each with an optional explicit mapping for tests.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from dashboard.domain.clients import MAX_CLIENTS

#: The repository root (the folder holding ``data/`` and ``assets/``).
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
ASSETS_DIR = ROOT / "assets"


#: Debug switches honoured by ``anycast-dashboard serve --debug`` only; under a WSGI server they
#: are ignored with a warning (:func:`dashboard.hardening.production_guard`).
DEBUG_ENV_VARS = ("ANYCAST_DEBUG", "DASH_DEBUG", "FLASK_DEBUG")
#: Default latency model parameter file (written by ``python -m calibration``).
DEFAULT_LATENCY_PARAMS = DATA_DIR / "latency_model.json"
#: Default landing-probability model file (written by ``python -m calibration catchment``).
DEFAULT_CATCHMENT_MODEL = DATA_DIR / "catchment_model.json"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    """``env``, or the process environment (the one place it is read)."""
    return os.environ if env is None else env


def latency_params_path(env: Mapping[str, str] | None = None) -> Path:
    """The latency parameter file in effect: ``ANYCAST_LATENCY_PARAMS`` or the shipped fitted
    one. Read at each call (one dict lookup), so a changed variable takes effect at once."""
    return Path(latency_params_file(env))


_DEFAULT_LATENCY_PARAMS_TEXT = str(DEFAULT_LATENCY_PARAMS)


def latency_params_file(env: Mapping[str, str] | None = None) -> str:
    """:func:`latency_params_path` as the text of the variable (or of the shipped file's path),
    without building a ``Path``: a cheap key for per-request caches of things derived from the
    parameters (``services.routing._plan``: ~0.3 us instead of ~5 us)."""
    return _env(env).get("ANYCAST_LATENCY_PARAMS") or _DEFAULT_LATENCY_PARAMS_TEXT


def catchment_model_path(env: Mapping[str, str] | None = None) -> Path:
    """The landing-probability model file in effect: ``ANYCAST_CATCHMENT_MODEL`` or the shipped
    fitted one (read by :mod:`dashboard.catchment`)."""
    return Path(_env(env).get("ANYCAST_CATCHMENT_MODEL") or DEFAULT_CATCHMENT_MODEL)


def debug_variables_set(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The :data:`DEBUG_ENV_VARS` set to anything but empty/0/false/no/off, with their values."""
    e = _env(env)
    return {name: str(e.get(name)) for name in DEBUG_ENV_VARS
            if (e.get(name) or "").strip().lower() not in ("", "0", "false", "no", "off")}


class SettingsError(ValueError):
    """An environment variable holds a value we cannot use; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} must be >= {minimum}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    if raw.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def _max_clients(env: Mapping[str, str]) -> int:
    value = _int(env, "ANYCAST_MAX_CLIENTS", MAX_CLIENTS, 1)
    if value > MAX_CLIENTS:
        raise SettingsError(f"ANYCAST_MAX_CLIENTS={value} is more than {MAX_CLIENTS}, the most "
                            "the app routes in one request (it may lower the cap, not raise it)")
    return value


#: Values of ``ANYCAST_JOBS``.
JOBS_CHOICES = ("auto", "diskcache", "celery")


def _jobs(env: Mapping[str, str]) -> str:
    raw = (env.get("ANYCAST_JOBS") or "auto").strip().lower()
    if raw not in JOBS_CHOICES:
        raise SettingsError(f"ANYCAST_JOBS={raw!r} is not one of {', '.join(JOBS_CHOICES)}")
    if raw == "celery" and not env.get("REDIS_URL"):
        raise SettingsError("ANYCAST_JOBS=celery needs REDIS_URL (the Celery broker and result "
                            "store)")
    return raw


_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")
_LOOPBACK = ("127.0.0.1", "localhost")
_REGION_RE = re.compile(r"^[a-z]{2,4}-[a-z0-9-]{1,40}$")


def _provider_endpoint(env: Mapping[str, str]) -> str | None:
    raw = (env.get("ANYCAST_PROVIDER_ENDPOINT") or "").strip()
    if not raw:
        return None
    if not _HOST_RE.match(raw):
        raise SettingsError(f"ANYCAST_PROVIDER_ENDPOINT={raw[:60]!r} is not host[:port] (no "
                            "scheme, path or credentials)")
    return raw


def _provider_region(env: Mapping[str, str], default: str) -> str:
    raw = (env.get("ANYCAST_PROVIDER_REGION") or default).strip()
    if not _REGION_RE.match(raw):
        raise SettingsError(f"ANYCAST_PROVIDER_REGION={raw[:40]!r} is not a region id "
                            "(e.g. cn-hangzhou)")
    return raw


def _provider_protocol(env: Mapping[str, str], endpoint: str | None) -> str:
    raw = (env.get("ANYCAST_PROVIDER_PROTOCOL") or "https").strip().lower()
    if raw not in ("https", "http"):
        raise SettingsError(f"ANYCAST_PROVIDER_PROTOCOL={raw[:20]!r} is not https or http")
    if raw == "http" and not (endpoint and endpoint.rsplit(":", 1)[0] in _LOOPBACK):
        raise SettingsError("ANYCAST_PROVIDER_PROTOCOL=http is only for a local stub: it needs "
                            "ANYCAST_PROVIDER_ENDPOINT on 127.0.0.1 or localhost")
    return raw


@dataclass(frozen=True)
class Settings:
    """All knobs of one app instance. Build with :meth:`from_env` or directly in tests."""

    #: Catalog files: the provider changes its access-point list without notice, so users can
    #: point the app at their own copies (``ANYCAST_POPS_CSV`` / ``ANYCAST_ORIGINS_CSV``).
    pops_csv: Path = DATA_DIR / "pops.csv"
    origins_csv: Path = DATA_DIR / "origins.csv"
    #: Origin region selected when the URL does not name one.
    default_origin: str = "eu-central-1"
    #: ``redis://...`` to share the cache between workers and hosts; ``None`` = in-process cache.
    redis_url: str | None = None
    cache_timeout_s: int = 3600
    #: Hard caps on user input, so one request cannot exhaust a worker.
    max_upload_bytes: int = 5 * 1024 * 1024
    #: Clients per scenario or request, *counting a server-side client set's* (``cities25k``
    #: is 25,000 of them); at most :data:`dashboard.domain.clients.MAX_CLIENTS` (50,000), the
    #: ceiling that bounds the heaviest request. Links hold at most 500 of them
    #: (:data:`dashboard.domain.scenario_url.MAX_URL_CLIENTS`).
    max_clients: int = MAX_CLIENTS
    #: Latency model parameter file (JSON, same shape as ``data/latency_model.json``);
    #: ``ANYCAST_LATENCY_PARAMS``. Read and validated by :func:`dashboard.latency.load_params`.
    latency_params: Path = DEFAULT_LATENCY_PARAMS
    #: Landing-probability model (JSON, same shape as ``data/catchment_model.json``);
    #: ``ANYCAST_CATCHMENT_MODEL``. Read by :mod:`dashboard.catchment`.
    catchment_model: Path = DEFAULT_CATCHMENT_MODEL
    #: Folder of background jobs (N-1 analysis): progress and results, shared by the workers of
    #: one host; ``ANYCAST_JOBS_DIR``. None = ``$TMPDIR/anycast-eip-jobs-<uid>``.
    jobs_dir: Path | None = None
    #: Who runs background jobs (``ANYCAST_JOBS``): ``auto`` = Celery workers through
    #: ``redis_url`` when it is set, else Diskcache in the web workers; ``diskcache`` or
    #: ``celery`` to choose explicitly (``celery`` needs ``REDIS_URL``). See dashboard/jobs.py.
    jobs: str = "auto"
    #: Celery only: seconds a queued job may wait for a worker before the page gives up and says
    #: so (``ANYCAST_JOBS_QUEUE_TIMEOUT``); the queued message expires at the same time.
    jobs_queue_timeout_s: int = 120
    #: Heavy requests (big scenarios) served at once by the whole server (``ANYCAST_HEAVY_SLOTS``;
    #: all gunicorn workers under ``--preload``); the rest wait a little or get a 503 notice so
    #: that light requests keep flowing. See dashboard/admission.py.
    heavy_slots: int = 1
    #: Most background jobs at once (``ANYCAST_JOBS_MAX``): running per host with Diskcache
    #: (each N-1 process takes up to ~430 MB), queued or running in all with Celery. A click
    #: beyond it is told "Busy: N jobs ahead of yours" instead of starting another.
    jobs_max: int = 2
    #: Secret that signs background-job handles (``ANYCAST_SECRET_KEY``); the same on every
    #: web worker and host. None = one generated and kept in the jobs folder (Diskcache) or in
    #: Redis without expiry (Celery). Never shown in a repr.
    secret_key: str | None = field(default=None, repr=False)
    #: The operator's live Anycast EIP configuration through Alibaba Cloud's SDK
    #: (``ANYCAST_PROVIDER_API=on``; docs/provider.md). Off: the panel offers the saved-JSON
    #: import only and no call is made. Credentials are never settings: the SDK's standard
    #: chain supplies them.
    provider_api: bool = False
    #: Region of the SDK's endpoint rule (``ANYCAST_PROVIDER_REGION``), or an explicit
    #: host[:port] (``ANYCAST_PROVIDER_ENDPOINT``); ``http`` (``ANYCAST_PROVIDER_PROTOCOL``)
    #: only towards a loopback stub.
    provider_region: str = "cn-hangzhou"
    provider_endpoint: str | None = None
    provider_protocol: str = "https"
    #: Read timeout of one API call, milliseconds (``ANYCAST_PROVIDER_TIMEOUT_MS``; connect:
    #: at most 3 s).
    provider_timeout_ms: int = 10000
    #: MaxMind-format GeoIP database (``.mmdb``: GeoLite2-City, DB-IP lite city, IPinfo-style)
    #: that locates IP addresses given as clients (``ANYCAST_GEOIP_MMDB``); None = IP addresses
    #: are refused with a hint naming this setting. Never downloaded (docs/geoip.md).
    geoip_mmdb: Path | None = None
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8050
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = _env(env)
        base = cls()
        return cls(
            pops_csv=Path(env.get("ANYCAST_POPS_CSV") or base.pops_csv),
            origins_csv=Path(env.get("ANYCAST_ORIGINS_CSV") or base.origins_csv),
            default_origin=env.get("ANYCAST_DEFAULT_ORIGIN") or base.default_origin,
            redis_url=(env.get("REDIS_URL") or None),
            cache_timeout_s=_int(env, "ANYCAST_CACHE_TIMEOUT", base.cache_timeout_s),
            max_upload_bytes=_int(env, "ANYCAST_MAX_UPLOAD_BYTES", base.max_upload_bytes, 1),
            max_clients=_max_clients(env),
            latency_params=latency_params_path(env),
            catchment_model=catchment_model_path(env),
            jobs_dir=Path(env["ANYCAST_JOBS_DIR"]) if env.get("ANYCAST_JOBS_DIR") else None,
            jobs=_jobs(env),
            jobs_queue_timeout_s=_int(env, "ANYCAST_JOBS_QUEUE_TIMEOUT",
                                      base.jobs_queue_timeout_s, 1),
            heavy_slots=_int(env, "ANYCAST_HEAVY_SLOTS", base.heavy_slots, 1),
            jobs_max=_int(env, "ANYCAST_JOBS_MAX", base.jobs_max, 1),
            secret_key=env.get("ANYCAST_SECRET_KEY") or None,
            provider_api=_bool(env, "ANYCAST_PROVIDER_API", base.provider_api),
            provider_region=_provider_region(env, base.provider_region),
            provider_endpoint=_provider_endpoint(env),
            provider_protocol=_provider_protocol(env, _provider_endpoint(env)),
            provider_timeout_ms=_int(env, "ANYCAST_PROVIDER_TIMEOUT_MS",
                                     base.provider_timeout_ms, 100),
            geoip_mmdb=Path(env["ANYCAST_GEOIP_MMDB"]) if env.get("ANYCAST_GEOIP_MMDB") else None,
            debug=_bool(env, "ANYCAST_DEBUG", base.debug),
            host=env.get("HOST") or base.host,
            port=_int(env, "PORT", base.port, 1),
        )

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed (tests and the CLI use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: Environment variables read by :meth:`Settings.from_env` (documented in the README).
ENV_VARS = (
    "ANYCAST_POPS_CSV",
    "ANYCAST_ORIGINS_CSV",
    "ANYCAST_DEFAULT_ORIGIN",
    "REDIS_URL",
    "ANYCAST_CACHE_TIMEOUT",
    "ANYCAST_MAX_UPLOAD_BYTES",
    "ANYCAST_MAX_CLIENTS",
    "ANYCAST_LATENCY_PARAMS",
    "ANYCAST_CATCHMENT_MODEL",
    "ANYCAST_JOBS_DIR",
    "ANYCAST_JOBS",
    "ANYCAST_JOBS_QUEUE_TIMEOUT",
    "ANYCAST_HEAVY_SLOTS",
    "ANYCAST_JOBS_MAX",
    "ANYCAST_SECRET_KEY",
    "ANYCAST_PROVIDER_API",
    "ANYCAST_PROVIDER_REGION",
    "ANYCAST_PROVIDER_ENDPOINT",
    "ANYCAST_PROVIDER_PROTOCOL",
    "ANYCAST_PROVIDER_TIMEOUT_MS",
    "ANYCAST_GEOIP_MMDB",
    "ANYCAST_DEBUG",
    "HOST",
    "PORT",
)
