"""Every Dash component id, in one place: layout, callbacks, clientside JS and browser tests use
these (``assets/map_click.js`` hard-codes :data:`SCENARIO_EDIT` and :data:`WORLD_MAP`; a test
keeps them in step).
"""

from __future__ import annotations

URL = "url"
HEADER = "app-header"
NOTICE = "notice"

# -- state -----------------------------------------------------------------------------------------
#: The current scenario (``Scenario.to_dict()``); the URL query mirrors it.
SCENARIO = "scenario-store"
#: One edit request ({"op": ..., "nonce": ...}) written by the input widgets and the map click
#: script; the scenario callback applies it. Funnelling edits through one store keeps a single
#: writer of the scenario and of the URL (no circular callbacks).
SCENARIO_EDIT = "scenario-edit"

# -- origin ----------------------------------------------------------------------------------------
ORIGIN = "origin-select"
ENDPOINT_TYPE = "endpoint-type"
ENDPOINT_INFO = "endpoint-info"

# -- adding clients --------------------------------------------------------------------------------
CITY_SEARCH = "city-search"
COORDS_INPUT = "coords-input"
COORDS_ADD = "coords-add"
PRESET = "preset-select"
UPLOAD = "clients-upload"
CLEAR_CLIENTS = "clients-clear"
CLIENT_COUNT = "client-count"
SHARE_LINK = "share-link"

# -- results ---------------------------------------------------------------------------------------
WORLD_MAP = "world-map"
ASSIGNMENT_TABLE = "assignment-table"
SUMMARY = "summary"
RTT_CDF = "rtt-cdf"
MODEL_NOTE = "model-note"

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
SHOW_CATCHMENTS = "show-catchments"
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

# -- support -------------------------------------------------------------------------------------------
EXPLAIN_CLIENT = "explain-client"
EXPLAIN_BODY = "explain-body"
OBSERVED_POP = "observed-pop"
EXPLAIN_TABLE = "explain-table"
EXPLAIN_CHART = "explain-chart"
EXPORT_TABLE = "export-assignment"
EXPORT_JSON = "export-scenario"
TABLE_DOWNLOAD = "assignment-download"
JSON_DOWNLOAD = "scenario-download"
IMPORT_UPLOAD = "scenario-import"
