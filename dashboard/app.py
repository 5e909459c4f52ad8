"""The Dash application factory. The only module-level app is in ``dashboard.wsgi``."""

from __future__ import annotations

from dash import Dash

from dashboard import (admission, api, callbacks, errors, fastpath, hardening, headers,
                       jsonfast)
from dashboard.cache import init_cache
from dashboard.catalog import Catalog, load_catalog
from dashboard.gazetteer import DEMAND_PREFIX, DEMAND_SETS, load_gazetteer, presets
from dashboard.jobs import background_manager, install as install_jobs
from dashboard.layout.shell import build_layout
from dashboard.serving import drop_polyfill, init_serving, preload_first_render_chunks
from dashboard.services import ipclients
from dashboard.settings import ASSETS_DIR, Settings


def create_app(settings: Settings | None = None, catalog: Catalog | None = None) -> Dash:
    """Build a fully wired app. Each call returns an independent app (tests build many)."""
    settings = settings or Settings.from_env()
    catalog = catalog or load_catalog(settings.pops_csv, settings.origins_csv)
    jsonfast.install()  # responses: no second JSON pass for "NaN" inside base64 (issue 16)
    app = Dash(
        __name__,
        # Dash resolves a relative assets folder against this module, not the working
        # directory; the top-level assets/ must be given absolutely.
        assets_folder=str(ASSETS_DIR),
        title="Anycast EIP dashboard",
        update_title=None,
        serve_locally=True,
        # Heavy runs (N-1 analysis) are background callbacks: progress, cancel, page stays live.
        background_callback_manager=background_manager(settings),
    )
    install_jobs(app)  # one shared signing secret for job handles, read at each use
    app.server.config["ANYCAST_SETTINGS"] = settings
    app.server.config["ANYCAST_CATALOG"] = catalog
    preset_options = [{"label": p.label, "value": p.key}
                      for p in presets(load_gazetteer(), catalog)]
    # Large client sets are referenced by key (Scenario.client_set), never copied into the page.
    preset_options += [{"label": label, "value": DEMAND_PREFIX + key}
                       for key, (_n, label) in DEMAND_SETS.items()]
    # plotly.js fetches the world outline from a CDN unless told where our copy is.
    app.layout = build_layout(catalog, topojson_url=app.get_asset_url("topojson/"),
                              preset_options=preset_options,
                              max_upload_bytes=settings.max_upload_bytes,
                              provider_api=settings.provider_api,
                              geoip_note=ipclients.status_note(settings))
    callbacks.register(app, catalog, settings)
    # Heavy requests (big scenarios) through a few shared slots; light ones never wait.
    admission.init_admission(app, settings)
    # Serving: shared cache, JSON API + /healthz (and its size cap), app-wide JSON error
    # answers, security headers on every response.
    init_cache(app.server, settings)
    api.init_api(app, settings, catalog)
    errors.init_errors(app, settings)
    headers.init_headers(app)
    # Malformed Dash callback requests get a JSON 400 instead of reaching Dash's internals.
    hardening.init_hardening(app)
    # Compression and cache headers (registered last: they see the final responses).
    init_serving(app)
    # The lazy component code the first render needs, loaded with the page (issue 16).
    preload_first_render_chunks(app)
    # Dash's 99 KB polyfill out, the 7 KB regenerator runtime it carries in (issue 16).
    drop_polyfill(app)
    # The plain GET /api/v1/nearest?lat=..&lon=.. answered before Flask's request machinery
    # (the same answer and headers; anything else goes to Flask): issue 16.
    fastpath.install(app)
    return app
