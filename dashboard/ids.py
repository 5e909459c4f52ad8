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
#: The upload size cap in bytes, and an upload that passed it (``assets/upload_guard.js`` moves
#: ``{"contents", "filename"}`` here; the server callback parses it).
UPLOAD_LIMIT = "clients-upload-limit"
UPLOAD_ACCEPTED = "clients-upload-accepted"
CLEAR_CLIENTS = "clients-clear"
CLIENT_COUNT = "client-count"
SHARE_LINK = "share-link"

# -- results ---------------------------------------------------------------------------------------
WORLD_MAP = "world-map"
ASSIGNMENT_TABLE = "assignment-table"
SUMMARY = "summary"
RTT_CDF = "rtt-cdf"
MODEL_NOTE = "model-note"
