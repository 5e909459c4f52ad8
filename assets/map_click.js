/*
 * Click anywhere on the world map (land or sea) to add a client there; in plan mode (the
 * "Plan a PoP here" button armed: class `plan-mode--on`) the click adds a planned access point
 * instead (an `add-planned` edit, named server-side after the nearest city; docs/planning.md)
 * and plan mode ends (Escape or the button again cancels it).
 *
 * plotly.js fires `plotly_click` only over data points, so this script listens to plain DOM
 * clicks on the map and converts the pixel to (lat, lon) with the geo subplot's own projection
 * (`gd._fullLayout.geo._subplot.projection.invert`), which already accounts for the user's current
 * zoom, pan and rotation. The result is written straight into the Dash store `scenario-edit`
 * (ids.SCENARIO_EDIT) as an "add" edit: one round trip, handled by the same server callback as
 * every other edit.
 *
 * Not a click (ignored): a drag (pan) of more than a few pixels, a double click (plotly resets the
 * view), a click on the legend or the mode bar, a click outside the globe, a click on a data point
 * (those belong to `plotly_click`, e.g. for marking an access point down).
 *
 * Ids used here are kept in step with dashboard/ids.py by tests/unit/test_ids_js.py.
 */
(function () {
    'use strict';

    var MAP_ID = 'world-map';
    var EDIT_STORE_ID = 'scenario-edit';
    var PLAN_MODE_ID = 'plan-pop-mode';
    var DRAG_PX = 5;
    var DBLCLICK_MS = 260;

    var down = null;
    var pending = null;
    /* Removes the pending marker of the click waiting in ``pending`` (a double click cancels). */
    var pendingOff = null;

    function mapGraph(target) {
        if (!target || !target.closest) { return null; }
        var host = target.closest('#' + MAP_ID);
        if (!host) { return null; }
        if (target.closest('.legend, .modebar-container, .modebar')) { return null; }
        return host.querySelector('.js-plotly-plot');
    }

    /* Pixel (relative to the page) -> [lon, lat] or null when outside the drawn globe. */
    function invertClick(gd, clientX, clientY) {
        var fl = gd && gd._fullLayout;
        var sub = fl && fl.geo && fl.geo._subplot;
        if (!sub || !sub.projection) { return null; }
        var svg = gd.querySelector('.main-svg');
        if (!svg) { return null; }
        var box = svg.getBoundingClientRect();
        var px = [clientX - box.left, clientY - box.top];
        var proj = sub.projection;
        var lonlat = proj.invert(px);
        if (!lonlat || !isFinite(lonlat[0]) || !isFinite(lonlat[1])) { return null; }
        // Outside the projection's outline, invert() still returns numbers: re-project and
        // require the round trip to land on the clicked pixel.
        var back = proj(lonlat);
        if (!back || Math.abs(back[0] - px[0]) > 1.5 || Math.abs(back[1] - px[1]) > 1.5) {
            return null;
        }
        if (proj.isLonLatOverEdges && proj.isLonLatOverEdges(lonlat)) { return null; }
        var lon = ((lonlat[0] + 540) % 360) - 180;  // wrap to [-180, 180)
        var lat = Math.max(-90, Math.min(90, lonlat[1]));
        return [lon, lat];
    }

    function hoveringPoint(gd) {
        return Boolean(gd._hoverdata && gd._hoverdata.length);
    }

    function planMode() {
        var b = document.getElementById(PLAN_MODE_ID);
        return Boolean(b && b.className.indexOf('plan-mode--on') >= 0);
    }

    function addPlanned(lat, lon) {
        var dc = window.dash_clientside;
        if (!dc || !dc.set_props) { return; }
        dc.set_props(PLAN_MODE_ID, {className: 'btn plan-mode', children: 'Plan a PoP here'});
        dc.set_props(EDIT_STORE_ID, {
            data: {
                op: 'add-planned',
                lat: Math.round(lat * 1e4) / 1e4, lon: Math.round(lon * 1e4) / 1e4,
                nonce: Date.now() + Math.random()
            }
        });
    }

    function addClient(lat, lon) {
        var dc = window.dash_clientside;
        if (!dc || !dc.set_props) { return; }
        dc.set_props(EDIT_STORE_ID, {
            data: {
                op: 'add',
                source: 'map click',
                clients: [{lat: Math.round(lat * 1e4) / 1e4, lon: Math.round(lon * 1e4) / 1e4,
                           name: '', weight: 1}],
                nonce: Date.now() + Math.random()
            }
        });
    }

    document.addEventListener('mousedown', function (e) {
        down = mapGraph(e.target) ? {x: e.clientX, y: e.clientY} : null;
    }, true);

    document.addEventListener('click', function (e) {
        var gd = mapGraph(e.target);
        if (!gd || e.button !== 0) { return; }
        if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) > DRAG_PX) { return; }
        var planning = planMode();
        // in plan mode a click over a marker (a client in the city) still plans the PoP there
        if (hoveringPoint(gd) && !planning) { return; }
        var ll = invertClick(gd, e.clientX, e.clientY);
        if (!ll) { return; }
        if (pending) { clearTimeout(pending); }
        // the client is drawn at once (pending) while the double-click wait and the server
        // round trip run (assets/edits.js optimisticClient; gone when the map is redrawn)
        if (pendingOff) { pendingOff(); pendingOff = null; }
        if (!planning && window.anycastMap && window.anycastMap.pendingClient) {
            pendingOff = window.anycastMap.pendingClient(ll[1], ll[0], 'Adding this point…') ||
                null;
        }
        pending = setTimeout(function () {
            pending = null;
            if (planning) { addPlanned(ll[1], ll[0]); } else { addClient(ll[1], ll[0]); }
        }, DBLCLICK_MS);
    }, true);

    // Escape disarms plan mode (the button says so again)
    document.addEventListener('keydown', function (e) {
        if (e.key !== 'Escape' || !planMode()) { return; }
        var dc = window.dash_clientside;
        if (dc && dc.set_props) {
            dc.set_props(PLAN_MODE_ID, {className: 'btn plan-mode', children: 'Plan a PoP here'});
        }
    }, true);

    document.addEventListener('dblclick', function (e) {
        if (pending && mapGraph(e.target)) {
            clearTimeout(pending);
            pending = null;
            if (pendingOff) { pendingOff(); pendingOff = null; }
        }
    }, true);

    // Exposed for tests and for other scripts (e.g. failover): pixel -> [lon, lat].
    window.anycastMap = window.anycastMap || {};
    window.anycastMap.invertClick = invertClick;
}());
