/*
 * Failover animation: the clients of a downed (or restored) access point sweep to their new
 * access point, and their backbone legs follow, entirely in the browser.
 *
 * The server sends the plan of the moving paths once (dashboard/domain/failover.py
 * `animation_plan`: each moving client's position, its PoP end and origin end before and after,
 * and the eased fraction of each of the 24 frames) in the store `failover-frames`, together with
 * the map figure in its start state (moving clients' paths left out of the static path layers and
 * drawn at frame 0 in the two "moving" layers; `layout.meta.failover` = the animation id). Frame k
 * is computed here exactly as `plan_frame` does in Python: PoP and origin ends moved along the
 * great circle by t[k] (`slerp` below mirrors `domain.failover.slerp`), legs drawn between them.
 * The clientside callback below starts a requestAnimationFrame loop that
 *   1. waits until the graph shows the figure of this animation (the figure and the frames arrive
 *      in the same response, but plotly draws asynchronously),
 *   2. steps frames 1..n-1 with Plotly.restyle on the two moving layers only (the other layers are
 *      not touched, so unaffected paths never flicker) -- never skipping a frame, so a slow
 *      browser takes longer rather than jumping,
 *   3. folds the final paths into the static layers and empties the moving ones: the map then
 *      shows the freshly computed routing state (with more than 2,000 clients it may draw a
 *      few more paths than a server figure, which draws at most 2,000 static paths),
 *   4. reports {id, state: "done", frames} in the store `failover-status` (tests wait on it).
 * No server request is made per frame. A newer change cancels a running animation.
 *
 * Ids are kept in step with dashboard/ids.py by tests/unit/test_ids_js.py.
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

    /* Great-circle interpolation on the unit sphere, as dashboard/domain/failover.py `slerp`
       (antipodal pairs fall back to linear interpolation in lat/lon). */
    var RAD = Math.PI / 180;
    function slerp(lat1, lon1, lat2, lon2, t) {
        var a1 = lat1 * RAD, o1 = lon1 * RAD, a2 = lat2 * RAD, o2 = lon2 * RAD;
        var ax = Math.cos(a1) * Math.cos(o1), ay = Math.cos(a1) * Math.sin(o1), az = Math.sin(a1);
        var bx = Math.cos(a2) * Math.cos(o2), by = Math.cos(a2) * Math.sin(o2), bz = Math.sin(a2);
        var dot = Math.min(1, Math.max(-1, ax * bx + ay * by + az * bz));
        var omega = Math.acos(dot), s = Math.sin(omega);
        if (!(s > 1e-9)) {
            if (dot < 0) { return [(1 - t) * lat1 + t * lat2, (1 - t) * lon1 + t * lon2]; }
            return [lat1, lon1];  // the same point: nothing moves
        }
        var w1 = Math.sin((1 - t) * omega) / s, w2 = Math.sin(t * omega) / s;
        var x = w1 * ax + w2 * bx, y = w1 * ay + w2 * by, z = w1 * az + w2 * bz;
        return [Math.atan2(z, Math.hypot(x, y)) / RAD, Math.atan2(y, x) / RAD];
    }

    function num(v) { return (v === null || v === undefined) ? NaN : v; }
    function out(v) { return Number.isFinite(v) ? v : null; }

    /* Frame k of the plan: [[internet lats, lons], [backbone lats, lons]], segments a, b, null. */
    function frameAt(fr, k) {
        var last = k >= fr.n - 1 || fr.t[k] === 1;
        var t = fr.t[k];
        var il = [], io = [], bl = [], bo = [];
        for (var i = 0; i < fr.c[0].length; i++) {
            var p, o;
            if (last) {
                p = [num(fr.p1[0][i]), num(fr.p1[1][i])];
                o = [num(fr.o1[0][i]), num(fr.o1[1][i])];
            } else {
                p = slerp(num(fr.p0[0][i]), num(fr.p0[1][i]), num(fr.p1[0][i]),
                          num(fr.p1[1][i]), t);
                o = slerp(num(fr.o0[0][i]), num(fr.o0[1][i]), num(fr.o1[0][i]),
                          num(fr.o1[1][i]), t);
            }
            il.push(out(num(fr.c[0][i])), out(p[0]), null);
            io.push(out(num(fr.c[1][i])), out(p[1]), null);
            bl.push(out(p[0]), out(o[0]), null);
            bo.push(out(p[1]), out(o[1]), null);
        }
        return [[il, io], [bl, bo]];
    }

    function showFrame(gd, fr, k) {
        var t = fr.traces;
        var f = frameAt(fr, k);
        window.Plotly.restyle(gd, {
            lat: [f[0][0], f[1][0]],
            lon: [f[0][1], f[1][1]]
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
        var f = frameAt(fr, fr.n - 1);
        var si = coords(gd, t.internet);
        var sb = coords(gd, t.backbone);
        var inet = merged(si[0], si[1], f[0]);
        var bb = merged(sb[0], sb[1], f[1]);
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
        if (!fr || !fr.clients || !fr.clients.length || !fr.c || !fr.t) {
            return {id: fr ? fr.id : null, state: 'idle'};
        }
        window.anycastFailover.plan = fr;  // the plan being shown (tests compare frames)
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
