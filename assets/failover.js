/*
 * Failover animation: the clients of a downed (or restored) access point sweep to their new
 * access point, and their backbone legs follow, entirely in the browser, on a time budget.
 *
 * The server sends the plan of the moving paths once (dashboard/domain/failover.py
 * `animation_plan`: each moving client's position, its PoP end and origin end before and after
 * -- packed as int32 base64, `unpack` below --, the eased fraction of each of its n frames and
 * the budget `duration_ms`) in the store
 * `failover-frames`, together with the map figure in its FINAL state (moving clients' paths left
 * out of the static path layers and held, at the last frame, by the two "moving" layers, drawn
 * with opacity 0; `layout.meta.failover` = the animation id). Frame k is computed here exactly as `plan_frame`
 * does in Python: PoP and origin ends moved along the great circle by t[k] (`slerp` below mirrors
 * `domain.failover.slerp`), legs drawn between them.
 *
 * Why not Plotly.restyle per frame: any restyle of a geo subplot redraws every trace of it (a
 * 25,000-client map took ~0.6 s per frame: 24 frames = 13-16 s), and so does any change inside
 * the plot's SVG (the browser repaints all of it). Frames are therefore drawn on a light overlay,
 * a canvas over the plot (`canvas.failover-overlay`, its own compositing layer), projected with
 * the subplot's own d3 projection (`projection.getPath()`: great-circle arcs, the user's zoom
 * and pan), which costs a few ms per frame whatever the map holds.
 *
 * The clientside callback below starts a requestAnimationFrame loop that
 *   1. waits until the graph shows the figure of this animation (the figure and the frames arrive
 *      in the same response, but plotly draws asynchronously),
 *   2. draws frame 0 on the overlay in the same task as plotly's drawing of the figure
 *      (`plotly_afterplot`; no paint without the moving paths) and then on each tick the frame
 *      that is due at that time (elapsed / duration_ms): when the browser
 *      is late, frames are dropped rather than the animation slowed down -- down to a floor of
 *      `min_frames` (21: frame 0 and 20 moving) distinct frames, which a very slow browser
 *      still draws (it then takes longer than the budget instead of jumping from start to end),
 *   3. once the last frame has been on screen, removes the overlay and, in the same task (no
 *      paint in between), reveals the moving layers (they already hold the final paths): no
 *      plotly call, so a click costs ONE full redraw of the geo map (the response's figure)
 *      instead of two (before: a final Plotly.restyle folding the paths into the static layers
 *      redrew the 25,000-client map again, ~0.6-1 s under load),
 *   4. reports {id, state: "done", frames, ms} in the store `failover-status` (tests wait on it;
 *      frames = distinct frames drawn, ms = first frame to final state).
 * No server request is made per frame. A newer change cancels a running animation.
 *
 * Ids are kept in step with dashboard/ids.py by tests/unit/test_ids_js.py.
 */
(function () {
    'use strict';

    var MAP_ID = 'world-map';
    var STATUS_ID = 'failover-status';
    // How long to wait for plotly to draw the figure of the plan (a loaded 2-core machine took
    // up to ~8 s for a 25,000-client response); a newer change cancels the wait anyway.
    var WAIT_MS = 30000;
    var MIN_FRAMES = 21;  // frame 0 and 20 after it (services/failover.py MIN_FRAMES)
    var REVEAL_OPACITY = 0.95;  // the moving layers once shown (figures/map.py MOVING_OPACITY)

    var running = null;

    function graph() {
        var host = document.getElementById(MAP_ID);
        return host ? host.querySelector('.js-plotly-plot') : null;
    }

    function report(data) {
        var dc = window.dash_clientside;
        if (dc && dc.set_props) { dc.set_props(STATUS_ID, {data: data}); }
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

    /* The plan's coordinates arrive packed (dashboard/domain/failover.py `pack_coords`: the
       lats then the lons, degrees x `div` as little-endian int32, GAP for a gap): k / div is
       the very double the plan's former JSON lists carried (`np.round(x, 5)`). Plain
       [lats, lons] lists are taken as they are. */
    var GAP = -2147483648;  // domain/failover.py PACK_GAP
    var COORDS = ['c', 'p0', 'p1', 'o0', 'o1'];  // domain/failover.py PLAN_COORDS
    function coords(v) {
        if (!v || Array.isArray(v) || typeof v.i4 !== 'string' || !(v.div > 0)) { return v; }
        var bin = atob(v.i4), bytes = new Uint8Array(bin.length);
        for (var j = 0; j < bin.length; j++) { bytes[j] = bin.charCodeAt(j); }
        var view = new DataView(bytes.buffer), n = Math.floor(bytes.length / 8);
        var lat = new Array(n), lon = new Array(n);
        for (var i = 0; i < n; i++) {
            var a = view.getInt32(4 * i, true), b = view.getInt32(4 * (n + i), true);
            lat[i] = a === GAP ? null : a / v.div;
            lon[i] = b === GAP ? null : b / v.div;
        }
        return [lat, lon];
    }
    function unpack(fr) {
        if (!fr || !fr.c || Array.isArray(fr.c)) { return fr; }
        var out = Object.assign({}, fr);
        COORDS.forEach(function (key) { out[key] = coords(fr[key]); });
        return out;
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

    /* The overlay: a canvas over the plot (its own compositing layer: drawing a frame repaints
       neither the plot's SVG nor its 10,000 markers), clipped to the geo subplot, stroked in the
       colours and widths of the plotly moving layers (read from the figure). */
    function overlay(gd, fr) {
        var sub = gd._fullLayout.geo._subplot;
        var host = gd.querySelector('.svg-container');
        if (!host || !sub || !sub.projection || !sub.projection.getPath) { return null; }
        var old = host.querySelector('canvas.failover-overlay');
        if (old) { old.parentNode.removeChild(old); }
        var w = gd._fullLayout.width, h = gd._fullLayout.height;
        var ratio = window.devicePixelRatio || 1;
        var canvas = document.createElement('canvas');
        canvas.className = 'failover-overlay';
        canvas.width = Math.round(w * ratio);
        canvas.height = Math.round(h * ratio);
        canvas.style.cssText = 'position:absolute;left:0;top:0;pointer-events:none;' +
            'will-change:transform;width:' + w + 'px;height:' + h + 'px';
        host.appendChild(canvas);
        var ctx = canvas.getContext('2d');
        ctx.scale(ratio, ratio);
        var xa = sub.xaxis || {}, ya = sub.yaxis || {};
        var clip = [xa._offset, ya._offset, xa._length, ya._length].every(Number.isFinite)
            ? [xa._offset, ya._offset, xa._length, ya._length] : null;
        var styles = [fr.traces.moving_backbone, fr.traces.moving_internet].map(function (i) {
            var tr = gd._fullData.filter(function (t) { return t.index === i; })[0] || {};
            var line = tr.line || {};
            return {color: line.color || '#7C3AED', width: line.width || 2,
                    alpha: 1};
        });
        return {canvas: canvas, ctx: ctx, w: w, h: h, clip: clip, sub: sub,
                backbone: styles[0], internet: styles[1]};
    }

    /* The SVG groups of the plotly moving layers (the final paths, at opacity 0 until the sweep
       ends). They carry the trace index in their d3 datum. */
    function movingGroups(gd, fr) {
        var want = [fr.traces.moving_internet, fr.traces.moving_backbone];
        return Array.prototype.filter.call(gd.querySelectorAll('g.trace.scattergeo'),
                                           function (el) {
            var d = el.__data__;
            var tr = d && d[0] && d[0].trace;
            return Boolean(tr && want.indexOf(tr.index) >= 0);
        });
    }

    /* [lats, lons] of segments a, b, null -> GeoJSON LineStrings ([lon, lat]), each distinct
       segment once (the backbone legs of clients moving between the same PoPs coincide);
       segments with a missing end or of zero length (a retracted path) are skipped. */
    function lineStrings(seg) {
        var lat = seg[0], lon = seg[1], lines = [], seen = {};
        for (var i = 0; i + 1 < lat.length; i += 3) {
            if (lat[i] === null || lat[i + 1] === null) { continue; }
            if (lat[i] === lat[i + 1] && lon[i] === lon[i + 1]) { continue; }
            var key = lat[i] + ',' + lon[i] + ',' + lat[i + 1] + ',' + lon[i + 1];
            if (seen[key]) { continue; }
            seen[key] = true;
            lines.push({type: 'LineString', coordinates: [[lon[i], lat[i]], [lon[i + 1], lat[i + 1]]]});
        }
        return lines;
    }

    /* One stroke per line: a single wide stroke of a thousand converging lines makes the
       rasteriser resolve every overlap (~90 ms a frame in software), separate strokes only
       overdraw (~20 ms). */
    function stroke(ov, path, seg, style) {
        var ctx = ov.ctx;
        ctx.strokeStyle = style.color;
        ctx.lineWidth = style.width;
        ctx.globalAlpha = style.alpha;
        lineStrings(seg).forEach(function (line) {
            ctx.beginPath();
            path(line);
            ctx.stroke();
        });
    }

    /* Frame k drawn on the overlay: the projected backbone legs, then the internet legs.
       `canvas.dataset.frame` / `canvas.__frame` say which frame (and its coordinates) is shown,
       for the benchmark probe and the browser tests. */
    function drawFrame(ov, fr, k) {
        var f = frameAt(fr, k);
        var ctx = ov.ctx;
        ctx.save();
        ctx.clearRect(0, 0, ov.w, ov.h);
        if (ov.clip) {
            ctx.beginPath();
            ctx.rect(ov.clip[0], ov.clip[1], ov.clip[2], ov.clip[3]);
            ctx.clip();
        }
        ctx.lineCap = 'round';
        var path = ov.sub.projection.getPath().context(ctx);
        stroke(ov, path, f[1], ov.backbone);
        stroke(ov, path, f[0], ov.internet);
        ctx.restore();
        ov.canvas.dataset.frame = String(k);
        ov.canvas.__frame = f;
    }

    /* The end of the animation: the moving layers (the final paths, drawn by plotly with the
       figure at opacity 0) shown. No plotly call -- a restyle, even of opacity alone, restyles
       or redraws every trace of the 25,000-client map: the group's style is set directly and
       the traces' opacity in gd.data and gd._fullData, so that a later redraw of the map (zoom,
       resize) keeps them shown. Only while the graph shows this animation's figure. */
    function reveal(gd, fr) {
        if (!gd || !fr || !fr.traces || !gd.layout || !gd.layout.meta ||
                gd.layout.meta.failover !== fr.id) { return; }
        var want = [fr.traces.moving_internet, fr.traces.moving_backbone];
        want.forEach(function (i) {
            if (gd.data && gd.data[i]) { gd.data[i].opacity = REVEAL_OPACITY; }
        });
        (gd._fullData || []).forEach(function (tr) {
            if (want.indexOf(tr.index) >= 0) { tr.opacity = REVEAL_OPACITY; }
        });
        movingGroups(gd, fr).forEach(function (el) {
            el.style.opacity = String(REVEAL_OPACITY);
            el.style.visibility = '';
        });
    }

    function removeOverlay(job) {
        if (job.ov && job.ov.canvas.parentNode) {
            job.ov.canvas.parentNode.removeChild(job.ov.canvas);
        }
        job.ov = null;
        if (job.off) { job.off(); job.off = null; }
    }

    /* A newer change: stop, and show the final paths of this one if its figure is still on
       screen (the newer figure, if any, replaces them). */
    function cancel() {
        if (running) {
            running.cancelled = true;
            if (running.raf) { cancelAnimationFrame(running.raf); }
            removeOverlay(running);
            reveal(graph(), running.fr);
            running = null;
        }
    }

    /* Index of the frame due `elapsed` ms after the first one (the last at duration_ms). */
    function due(fr, elapsed) {
        var ms = fr.duration_ms > 0 ? fr.duration_ms : 1;
        return Math.max(0, Math.min(fr.n - 1, Math.floor(elapsed / ms * (fr.n - 1))));
    }

    /* Most frames the next tick may advance: a very slow browser still draws at least
       `min_frames` distinct frames (spread evenly over what is left), taking longer than the
       budget rather than jumping from the start to the end. */
    function maxStep(fr, job) {
        var want = Math.min(fr.n, fr.min_frames > 0 ? fr.min_frames : MIN_FRAMES);
        var need = want - job.drawn.length;  // frames still to draw, the last one included
        var left = fr.n - 1 - job.k;
        return need > 0 ? Math.max(1, Math.floor(left / need)) : left;
    }

    function animate(fr) {
        cancel();
        fr = unpack(fr);
        if (!fr || !fr.clients || !fr.clients.length || !fr.c || !fr.t || !fr.traces) {
            return {id: fr ? fr.id : null, state: 'idle'};
        }
        window.anycastFailover.plan = fr;  // the plan being shown (tests compare frames)
        var job = {id: fr.id, fr: fr, cancelled: false, raf: null, t0: null, k: 0,
                   waitFrom: null, drawn: [], ov: null, off: null};
        running = job;

        function done(gd, ts) {
            var ms = Math.round(ts - job.t0);
            var report_ = function () {
                if (job.cancelled) { return; }
                running = null;
                var total = Math.round(performance.now() - job.t0);
                window.anycastFailover.last = {id: fr.id, frames: job.drawn.length, ms: total,
                                               anim_ms: ms, drawn: job.drawn};
                report({id: fr.id, state: 'done', frames: job.drawn.length, ms: total});
            };
            // Overlay out and the final paths in, in the same task: no paint in between.
            removeOverlay(job);
            reveal(gd, fr);
            report_();
        }

        /* Frame 0 on the overlay, as soon as plotly has drawn the figure of this plan. */
        function begin(gd, ts) {
            job.t0 = ts;
            job.ov = overlay(gd, fr);
            job.drawn.push(0);
            if (job.ov) { drawFrame(job.ov, fr, 0); }
        }

        function step(ts) {
            if (job.cancelled) { return; }
            var gd = graph();
            if (!ready(gd, fr)) {
                if (job.waitFrom === null) { job.waitFrom = ts; }
                if (ts - job.waitFrom > WAIT_MS) {  // the figure never came: give up quietly
                    running = null;
                    if (job.off) { job.off(); job.off = null; }
                    report({id: fr.id, state: 'abandoned', frames: 0});
                    return;
                }
                job.raf = requestAnimationFrame(step);
                return;
            }
            if (job.t0 === null) { begin(gd, ts); }  // (if plotly_afterplot did not already)
            if (!job.ov) {  // no projection to draw with: land on the final state at once
                done(gd, ts);
                return;
            }
            if (job.k >= fr.n - 1) {  // the last frame has been on screen: swap in the final state
                done(gd, ts);
                return;
            }
            var k = Math.min(due(fr, ts - job.t0), job.k + maxStep(fr, job));
            if (k > job.k) {  // the frame due now; the ones in between are dropped when late
                drawFrame(job.ov, fr, k);
                job.k = k;
                job.drawn.push(k);
            }
            job.raf = requestAnimationFrame(step);
        }
        // Start in the task in which plotly draws the figure (Dash may call Plotly.react before
        // or after this callback runs): frame 0 replaces the hidden moving paths before any
        // paint. The rAF loop above starts it otherwise.
        var gd0 = graph();
        if (gd0 && typeof gd0.on === 'function') {
            var onPlot = function () {
                if (!job.cancelled && job.t0 === null && ready(gd0, fr)) {
                    begin(gd0, performance.now());
                }
            };
            gd0.on('plotly_afterplot', onPlot);
            job.off = function () {
                if (gd0.removeListener) { gd0.removeListener('plotly_afterplot', onPlot); }
            };
        }
        if (ready(gd0, fr)) { begin(gd0, performance.now()); }  // already drawn
        job.raf = requestAnimationFrame(step);
        return {id: fr.id, state: 'running', frames: fr.n};
    }

    window.anycastFailover = window.anycastFailover || {};
    window.dash_clientside = Object.assign({}, window.dash_clientside, {
        anycastFailover: {animate: animate}
    });
}());
