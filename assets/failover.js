/*
 * Failover animation: the clients of a downed (or restored) access point sweep to their new
 * access point, and their backbone legs follow, entirely in the browser.
 *
 * The server computes every frame once (dashboard/domain/failover.py: 24 eased frames of plain
 * float lists) and puts them in the store `failover-frames` together with the map figure in its
 * start state (moving clients' paths left out of the static path layers and drawn at frame 0 in
 * the two "moving" layers; `layout.meta.failover` = the animation id). The clientside callback
 * below starts a requestAnimationFrame loop that
 *   1. waits until the graph shows the figure of this animation (the figure and the frames arrive
 *      in the same response, but plotly draws asynchronously),
 *   2. steps frames 1..n-1 with Plotly.restyle on the two moving layers only (the other layers are
 *      not touched, so unaffected paths never flicker) -- never skipping a frame, so a slow
 *      browser takes longer rather than jumping,
 *   3. folds the final paths into the static layers and empties the moving ones: the map then
 *      shows exactly the freshly computed routing state, as the next server figure will,
 *   4. reports {id, state: "done", frames} in the store `failover-status` (tests wait on it).
 * No server request is made per frame. A newer change cancels a running animation.
 *
 * Ids are kept in step with dashboard/ids.py by tests/callbacks/test_failover_callbacks.py.
 */
(function () {
    'use strict';

    var MAP_ID = 'world-map';
    var STATUS_ID = 'failover-status';
    var WAIT_MS = 8000;

    var running = null;

    function graph() {
        var host = document.getElementById(MAP_ID);
        return host ? host.querySelector('.js-plotly-plot') : null;
    }

    function report(data) {
        var dc = window.dash_clientside;
        if (dc && dc.set_props) { dc.set_props(STATUS_ID, {data: data}); }
    }

    function plain(a) {
        if (!a || typeof a.length !== 'number') { return []; }
        return Array.prototype.map.call(a, function (v) {
            return (v === null || v === undefined || Number.isNaN(v)) ? null : v;
        });
    }

    function ready(gd, fr) {
        var t = fr.traces;
        return Boolean(gd && window.Plotly && gd.layout && gd.layout.meta &&
                       gd.layout.meta.failover === fr.id && gd.data &&
                       gd.data.length > Math.max(t.moving_internet, t.moving_backbone) &&
                       gd._fullLayout && gd._fullLayout.geo);
    }

    function showFrame(gd, fr, k) {
        var t = fr.traces;
        window.Plotly.restyle(gd, {
            lat: [fr.internet[k][0], fr.backbone[k][0]],
            lon: [fr.internet[k][1], fr.backbone[k][1]]
        }, [t.moving_internet, t.moving_backbone]);
    }

    /* The last frame's segments [a, b, null]* appended to a static layer; zero-length segments
       (a path that retracted: no route / endpoint down) are dropped. */
    function merged(staticLat, staticLon, last) {
        var lat = plain(staticLat);
        var lon = plain(staticLon);
        for (var i = 0; i + 1 < last[0].length; i += 3) {
            var a = [last[0][i], last[1][i]];
            var b = [last[0][i + 1], last[1][i + 1]];
            if (a[0] === null || b[0] === null || (a[0] === b[0] && a[1] === b[1])) { continue; }
            if (lat.length) { lat.push(null); lon.push(null); }
            lat.push(a[0], b[0]);
            lon.push(a[1], b[1]);
        }
        return [lat, lon];
    }

    /* Decoded coordinates of a layer: plotly >= 6 keeps numpy arrays as {dtype, bdata} in
       gd.data and decodes them into typed arrays in gd._fullData. */
    function coords(gd, index) {
        var full = (gd._fullData || []).filter(function (tr) { return tr.index === index; })[0];
        var src = full || gd.data[index];
        return [src.lat, src.lon];
    }

    function finish(gd, fr) {
        var t = fr.traces;
        var last = fr.n - 1;
        var si = coords(gd, t.internet);
        var sb = coords(gd, t.backbone);
        var inet = merged(si[0], si[1], fr.internet[last]);
        var bb = merged(sb[0], sb[1], fr.backbone[last]);
        window.Plotly.restyle(gd, {
            lat: [inet[0], bb[0], [], []],
            lon: [inet[1], bb[1], [], []]
        }, [t.internet, t.backbone, t.moving_internet, t.moving_backbone]);
    }

    function cancel() {
        if (running) {
            running.cancelled = true;
            if (running.raf) { cancelAnimationFrame(running.raf); }
            running = null;
        }
    }

    function animate(fr) {
        cancel();
        if (!fr || !fr.clients || !fr.clients.length || !fr.internet) {
            return {id: fr ? fr.id : null, state: 'idle'};
        }
        var job = {id: fr.id, cancelled: false, raf: null, t0: null, k: 0, waitFrom: null,
                   shown: 1};
        var frameMs = fr.duration_ms / (fr.n - 1);
        running = job;

        function step(ts) {
            if (job.cancelled) { return; }
            var gd = graph();
            if (!ready(gd, fr)) {
                if (job.waitFrom === null) { job.waitFrom = ts; }
                if (ts - job.waitFrom > WAIT_MS) {  // the figure never came: give up quietly
                    running = null;
                    report({id: fr.id, state: 'abandoned', frames: 0});
                    return;
                }
                job.raf = requestAnimationFrame(step);
                return;
            }
            if (job.t0 === null) { job.t0 = ts; }
            var due = Math.min(fr.n - 1, Math.floor((ts - job.t0) / frameMs));
            if (job.k >= fr.n - 1) {  // the last frame has been on screen for a tick: hand over
                finish(gd, fr);
                running = null;
                window.anycastFailover.last = {id: fr.id, frames: job.shown,
                                               ms: Math.round(ts - job.t0)};
                report({id: fr.id, state: 'done', frames: job.shown,
                        ms: Math.round(ts - job.t0)});
                return;
            }
            if (due > job.k) {
                job.k += 1;  // one frame per tick at most: every frame is shown
                showFrame(gd, fr, job.k);
                job.shown += 1;
            }
            job.raf = requestAnimationFrame(step);
        }
        job.raf = requestAnimationFrame(step);
        return {id: fr.id, state: 'running', frames: fr.n};
    }

    window.anycastFailover = window.anycastFailover || {};
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        anycastFailover: {animate: animate}
    });
}());
