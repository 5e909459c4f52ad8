"""Every Dash component id, in one place: layout, callbacks, clientside JS and browser tests use
these. The scripts in ``assets/`` cannot import this module, so they repeat some ids as string
literals (``'world-map'``, ``'scenario-edit'``, ...); ``tests/unit/test_ids_js.py`` fails when one
of those is not a value here. Pattern ids (dicts) have their ``type`` here as a constant too.
"""

from __future__ import annotations

URL = "url"
HEADER = "app-header"
NOTICE = "notice"
#: The "server busy" banner. Not a Dash component: ``assets/busy_notice.js`` creates and removes
#: it (browser tests look for it by this id).
SERVER_BUSY_NOTICE = "server-busy-notice"

# -- state -----------------------------------------------------------------------------------------
#: The current scenario (``Scenario.to_dict()``); the URL query mirrors it.
SCENARIO = "scenario-store"
#: One edit request ({"op": ..., "nonce": ...}) written in the browser by the input widgets
#: (assets/edits.js) and the map click script; the scene callback applies it. Funnelling edits
#: through one store keeps a single writer of the scenario and of the URL (the scene callback
#: also sets the URL and the two selects it listens to: Dash allows that within one callback).
SCENARIO_EDIT = "scenario-edit"
#: Key of the client layers the map in the browser was last drawn with (scene callback): when
#: a what-if keeps them, only the changed parts of the figure are sent (a ``dash.Patch``).
MAP_BASE = "map-base"
#: Key of the assignment table rows the browser shows (scene callback): a what-if sends only the
#: rows that changed (a ``dash.Patch`` of ``data``) when the server still has the rows of that key.
TABLE_BASE = "table-base"
#: Store: indices of the map's layers the browser needs (``{"clients": i}``; map clicks).
MAP_LAYERS = "map-layers"

# -- origin ----------------------------------------------------------------------------------------
ORIGIN = "origin-select"
ENDPOINT_TYPE = "endpoint-type"
ENDPOINT_INFO = "endpoint-info"
#: Routing policy radio (geographic / network); writes a ``policy`` edit (assets/edits.js).
POLICY = "routing-policy"
#: Who the clients are (end users / data-centre servers); writes an ``access`` edit.
ACCESS = "client-access"

# -- adding clients --------------------------------------------------------------------------------
CITY_SEARCH = "city-search"
#: {option value: [lat, lon]} of the city search's current options: the browser draws a pending
#: marker there the moment a city is picked (assets/edits.js, issue 17)
CITY_SEARCH_POINTS = "city-search-points"
GEOIP_NOTE = "geoip-note"
COORDS_INPUT = "coords-input"
COORDS_ADD = "coords-add"
PRESET = "preset-select"
UPLOAD = "clients-upload"
#: The upload size cap in bytes, and an upload that passed it (``assets/upload_guard.js`` moves
#: ``{"contents", "filename"}`` here; the server callback parses it).
UPLOAD_LIMIT = "clients-upload-limit"
CLEAR_CLIENTS = "clients-clear"
CLIENT_COUNT = "client-count"
#: The "Copy link" button (icon and words: one control) and its label ("Copy link" / "Copied").
SHARE_LINK = "share-link"
SHARE_LABEL = "share-label"

# -- results ---------------------------------------------------------------------------------------
WORLD_MAP = "world-map"
ASSIGNMENT_TABLE = "assignment-table"
SUMMARY = "summary"
RTT_CDF = "rtt-cdf"
MODEL_NOTE = "model-note"

# -- failover: access points and endpoints up/down, the animation -----------------------------------
#: The control listing every access point with its state (toggle pills grouped by area).
POP_STATUS = "pop-status"
POP_STATUS_COUNT = "pop-status-count"
POPS_ALL_UP = "pops-all-up"
POPS_ALL_DOWN = "pops-all-down"
#: Endpoints of the Anycast EIP (Default + Normal with mapped access points), rebuilt per scenario.
ENDPOINTS_LIST = "endpoints-list"
ENDPOINT_ADD_REGION = "endpoint-add-region"
ENDPOINT_ADD_POPS = "endpoint-add-pops"
ENDPOINT_ADD = "endpoint-add"
ENDPOINT_MESSAGE = "endpoint-message"
ENDPOINT_WHATIF = "endpoint-whatif"
#: Animation frames computed once on the server; ``assets/failover.js`` steps them.
FAILOVER_FRAMES = "failover-frames"
#: Routing-relevant part of the previous scenario (the "before" of the next transition).
FAILOVER_PREV = "failover-prev"
#: Written by the browser: {"id", "state": "running" | "done", "frames"} (tests wait on it).
FAILOVER_STATUS = "failover-status"
FAILOVER_SUMMARY = "failover-summary"


#: ``type`` of the pattern ids of :func:`pop_toggle`.
POP_TOGGLE = "pop-toggle"
#: Kinds of :func:`endpoint_control`, and the ``type`` of each one's pattern id.
ENDPOINT_CONTROL_KINDS = ("pops", "down", "default", "remove", "whatif", "unmap", "unbind",
                          "promote")
ENDPOINT_CONTROL_TYPES = tuple(f"endpoint-{kind}" for kind in ENDPOINT_CONTROL_KINDS)


def pop_toggle(pop_id: str) -> dict:
    """The pill of one access point in :data:`POP_STATUS` (click: down <-> up)."""
    return {"type": POP_TOGGLE, "pop": pop_id}


def endpoint_control(kind: str, region: str) -> dict:
    """A control of the endpoint in ``region``; ``kind`` is one of :data:`ENDPOINT_CONTROL_KINDS`."""
    return {"type": f"endpoint-{kind}", "region": region}

# -- views (tabs) ------------------------------------------------------------------------------------
VIEW_TABS = "view-tabs"
PANEL_MAP = "panel-map"
PANEL_CAPACITY = "panel-capacity"
PANEL_SUPPORT = "panel-support"

# -- capacity planning ---------------------------------------------------------------------------------
CAPACITY_CONTROLS = "capacity-controls"
DEMAND_SOURCE = "demand-source"
DEMAND_SCALE = "demand-scale"
DEFAULT_CAPACITY = "default-capacity"
INSTANCE_MBPS = "instance-mbps"
SPILL_WHATIF = "spill-whatif"
COST_PANEL = "cost-panel"
#: ``type`` of the pattern ids of :func:`cost_input`.
COST_INPUT = "cost-input"


def cost_input(key: str) -> dict:
    """The cost estimate input ``key`` (:data:`dashboard.domain.cost.COST_KEYS`)."""
    return {"type": COST_INPUT, "key": key}
SHOW_CATCHMENTS = "show-catchments"
#: Announcement what-if (issue 20): the card, its reset button and the sliders' pattern ``type``.
BIAS_CARD = "bias-card"
BIAS_RESET = "bias-reset"
BIAS_SLIDER = "bias-slider"


def bias_slider(pop_id: str) -> dict:
    """The bias slider of one access point (ms; :mod:`dashboard.domain.bias`)."""
    return {"type": BIAS_SLIDER, "pop": pop_id}
CAPACITY_KPIS = "capacity-kpis"
CAPACITY_MAP = "capacity-map"
LOAD_BARS = "load-bars"
POP_TABLE = "pop-capacity-table"
N1_RUN = "n1-run"
N1_CANCEL = "n1-cancel"
N1_PROGRESS = "n1-progress"
N1_STATUS = "n1-status"
N1_RESULT = "n1-result"
N1_TABLE = "n1-table"
N1_CHART = "n1-chart"
N1_NOTE = "n1-note"
N1_EXPORT = "n1-export"
N1_DOWNLOAD = "n1-download"
#: "Where to add a PoP" (issue 20.2): run / cancel the ranking job, its progress and status,
#: the optional user list of sites, the stored result, the table of the top sites (with the
#: "add it" buttons, pattern ids of type :data:`SITING_ADD`), the greedy line, the note, the map.
SITING_RUN = "siting-run"
SITING_CANCEL = "siting-cancel"
SITING_PROGRESS = "siting-progress"
SITING_STATUS = "siting-status"
SITING_SITES = "siting-sites"
SITING_RESULT = "siting-result"
SITING_TABLE = "siting-table"
SITING_GREEDY = "siting-greedy"
SITING_NOTE = "siting-note"
#: The line that says the scenario changed since the ranking (set in the browser).
SITING_STALE = "siting-stale"
SITING_MAP = "siting-map"
SITING_ADD = "siting-add"


def siting_add(index: int | dict) -> dict:
    """The "add it" button of row ``index`` (0-based) of the "Where to add a PoP" table."""
    return {"type": SITING_ADD, "index": index}
# the capacity story (issue 17): headline and risks, the demand prompt's button (pattern id: it is
# drawn only with the prompt), the PoP × N-1 heat map, the PNG and print buttons
CAPACITY_STORY = "capacity-story"
DEMAND_FIT = "demand-fit"
N1_HEATMAP = "n1-heatmap"
STORY_PNG = "story-png"
STORY_PRINT = "story-print"
STORY_STATUS = "story-status"
STORY_HTML = "story-html"
STORY_DOWNLOAD = "story-download"


def demand_fit(n: int = 0) -> dict:
    """The demand prompt's "Scale demand" button (drawn with the prompt only)."""
    return {"type": DEMAND_FIT, "n": n}

# -- support -------------------------------------------------------------------------------------------
EXPLAIN_CLIENT = "explain-client"
#: "Explain ›" beside the assignment table (switches to the Support tab for the selected client)
#: and the line naming the selected client.
EXPLAIN_OPEN = "explain-open"
EXPLAIN_PICKED = "explain-picked"
EXPLAIN_BODY = "explain-body"
#: The one-sentence conclusion of the explained client (is the entry point the cause?).
EXPLAIN_VERDICT = "explain-verdict"
OBSERVED_POP = "observed-pop"
EXPLAIN_TABLE = "explain-table"
EXPLAIN_CHART = "explain-chart"
#: The landing-probability line of the explain panel (issue 14).
EXPLAIN_LANDING = "explain-landing"
EXPORT_TABLE = "export-assignment"
EXPORT_JSON = "export-scenario"
TABLE_DOWNLOAD = "assignment-download"
JSON_DOWNLOAD = "scenario-download"
IMPORT_UPLOAD = "scenario-import"
#: Observations (issue 18): the pasted traceroute/mtr, "Analyse" and its evidence panel, "Use as
#: observed PoP"; the measured-RTT CSV (pasted or uploaded), "Compare" and its table.
TRACE_TEXT = "trace-text"
TRACE_ANALYSE = "trace-analyse"
TRACE_APPLY = "trace-apply"
TRACE_RESULT = "trace-result"
MEASURED_TEXT = "measured-text"
MEASURED_UPLOAD = "measured-upload"
MEASURED_COMPARE = "measured-compare"
MEASURED_RESULT = "measured-result"
TRACE_EVIDENCE = "trace-evidence"
MEASURED_TABLE = "measured-table"

# -- advanced: latency model parameters ----------------------------------------------------------------
#: The sidebar's "Advanced: latency model" section, its inputs (rebuilt from the scenario), the
#: reset button, and the sentence under the table that names custom parameters.
MODEL_SECTION = "model-section"
MODEL_CONTROLS = "model-controls"
MODEL_RESET = "model-reset"
MODEL_CUSTOM = "model-custom"
#: Store: what the scenario's widgets show ({"model": {name: value}, "capacity": {...}}), written
#: by the round trip; assets/edits.js compares a re-rendered input with it (no request then).
WIDGET_VALUES = "widget-values"
#: ``type`` of the pattern ids of :func:`model_param`.
MODEL_PARAM = "model-param"


def model_param(name: str) -> dict:
    """The numeric input of latency model parameter ``name`` (a :data:`TUNABLE` field)."""
    return {"type": MODEL_PARAM, "name": name}

# -- provider: the operator's live Anycast EIP configuration (docs/provider.md) ---------------------
#: The sidebar's "Provider" section: read the account (button), or upload saved responses; the
#: Anycast EIP picker; the panel body (status, preview, catalog report); the load button; the
#: store of the load edit the button writes (``provider_load``) and of where the list came from.
PROVIDER_REFRESH = "provider-refresh"
PROVIDER_UPLOAD = "provider-upload"
PROVIDER_EIP = "provider-eip"
PROVIDER_BODY = "provider-body"
PROVIDER_LOAD = "provider-load"
PROVIDER_LOAD_EDIT = "provider-load-edit"
PROVIDER_SOURCE = "provider-source"
# -- planned (hypothetical) access points (docs/planning.md) ---------------------------------------
#: The sidebar's "Planned PoPs" section: the plan-mode button (the next map click adds a planned
#: PoP instead of a client; assets/map_click.js reads its class), the text input and its button,
#: the city picker, the table (name and capacity editable, rows deletable) and the gain card.
PLANNED_SECTION = "planned-section"
PLAN_MODE = "plan-pop-mode"
PLANNED_INPUT = "planned-input"
PLANNED_ADD = "planned-add"
PLANNED_CITY = "planned-city"
PLANNED_TABLE = "planned-table"
PLANNED_GAIN = "planned-gain"
