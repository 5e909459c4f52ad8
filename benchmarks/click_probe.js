/*
 * Click probe (issue 12): what one click costs, seen from inside the page.
 *
 * Shared by benchmarks/click_to_map.py and tests/e2e/test_round_trips_e2e.py (through
 * benchmarks/click_probe.py, which injects it with CDP `Page.addScriptToEvaluateOnNewDocument`
 * so the network wrappers exist before any page script runs). This file is one function
 * expression; the loader calls it with `cfg`:
 *   cfg.mapId        id of the dcc.Graph holding the world map ("world-map")
 *   cfg.movingNames  names of the map traces the failover animation moves
 *   cfg.staticNames  names of the map traces holding the paths at rest (ready = non-empty)
 *   cfg.urlPart      the server callback endpoint ("_dash-update-component")
 *
 * It only observes; it never changes what the page does:
 *   - every request to cfg.urlPart (window.fetch and XMLHttpRequest.open/send): start and end
 *     times (performance.now(), ms since navigation start);
 *   - the moving layer of the map: a fingerprint (point count + a position-weighted checksum of
 *     every lat/lon of the traces named in cfg.movingNames, read from the graph's _fullData, i.e.
 *     what plotly draws, and the frame shown by the failover overlay canvas, where the animation
 *     draws its frames since issue 17) sampled on every requestAnimationFrame tick and right after every
 *     Plotly call on the map (react, restyle, update, ... are wrapped once plotly is loaded);
 *     each distinct fingerprint is one "state" with the time it was first seen;
 *   - the click: window.__clickProbe.arm() resets the records; the next click event anywhere in
 *     the page (capture phase, dispatched by selenium or JS) is time zero (event.timeStamp).
 *
 * window.__clickProbe.result() then derives (times in ms after the click):
 *   pillChange   first change of the class of an access point pill (#pop-status) -- the
 *                optimistic state since issue 17, else the round trip's answer;
 *   firstChange  first state of the moving layer that differs from its state at the click
 *                (today: the figure of the failover arriving with frame 0 drawn in the moving
 *                layer -- the first visible map change of the animation);
 *   firstMotion  first state after that which differs from it (the map starts moving: frame 1);
 *   end          first time nothing moves again after the change (the overlay gone and the
 *                moving layers empty, or since animfinal revealed at rest with the final
 *                paths -- see `settled`; null while running);
 *   frames       distinct non-empty moving-layer states from firstChange up to end;
 *   requests     callback requests started between the click and firstChange (reqBeforeChange),
 *                between the click and firstMotion (reqBeforeMotion), from firstChange to end
 *                (reqDuring), and since the click in all (reqTotal, grows until idle).
 */
(function (cfg) {
    'use strict';
    if (window.__clickProbe) { return; }
    var now = function () { return performance.now(); };
    var P = window.__clickProbe = {
        cfg: cfg, reqs: [], inflight: 0, lastNet: now(), states: [], plots: [],
        tClick: null, armed: false, wrapped: false
    };

    function isCallback(url) { return String(url || '').indexOf(cfg.urlPart) >= 0; }
    function started(url) {
        var r = {url: String(url), t0: now(), t1: null};
        P.reqs.push(r);
        P.inflight += 1;
        P.lastNet = r.t0;
        return r;
    }
    function ended(r) {
        if (r.t1 !== null) { return; }
        r.t1 = now();
        P.inflight -= 1;
        P.lastNet = r.t1;
    }

    var origFetch = window.fetch;
    if (origFetch) {
        window.fetch = function (input, init) {
            var url = (typeof input === 'string') ? input : (input && input.url) || String(input);
            var p = origFetch.apply(this, arguments);
            if (isCallback(url)) {
                var r = started(url);
                p.then(function () { ended(r); }, function () { ended(r); });
            }
            return p;
        };
    }
    var XHR = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
    if (XHR) {
        var open = XHR.open, send = XHR.send;
        XHR.open = function (method, url) {
            this.__probeUrl = url;
            return open.apply(this, arguments);
        };
        XHR.send = function () {
            if (isCallback(this.__probeUrl)) {
                var r = started(this.__probeUrl);
                this.addEventListener('loadend', function () { ended(r); });
            }
            return send.apply(this, arguments);
        };
    }

    function graph() {
        var host = document.getElementById(cfg.mapId);
        return host ? host.querySelector('.js-plotly-plot') : null;
    }

    function traces(gd, names) {
        return (gd && gd._fullData || []).filter(function (t) {
            return names.indexOf(t.name) >= 0;
        });
    }

    /* The moving layers are at rest: since issue 17 (branch animfinal) assets/failover.js
       leaves the final paths in them and only reveals them when the animation of the figure on
       screen is done (`window.anycastFailover.last.id` = `layout.meta.failover`). In older
       checkouts they are empty at rest. */
    function settled(gd) {
        var id = gd && gd.layout && gd.layout.meta && gd.layout.meta.failover;
        var last = window.anycastFailover && window.anycastFailover.last;
        return Boolean(id && last && last.id === id);
    }

    /* [points, checksum] of the named traces as plotly holds them, plus (for the moving layer)
       the frame the failover overlay shows (assets/failover.js draws its frames on a canvas,
       `canvas.failover-overlay`, instead of restyling the traces; absent in older checkouts).
       For the moving layer, traces drawn hidden (opacity 0: waiting for the sweep) or at rest
       (see `settled`) change the checksum but count no moving point. */
    function fingerprint(names, withOverlay) {
        var n = 0, sum = 0;
        var gd0 = graph();
        var rest = withOverlay && settled(gd0);
        if (withOverlay) {
            var ov = gd0 && gd0.querySelector('canvas.failover-overlay');
            if (ov && ov.dataset.frame !== undefined) {
                n += 1;
                sum += 1e6 * (+ov.dataset.frame + 1);
            }
        }
        traces(gd0, names).forEach(function (t, j) {
            var counts = !(withOverlay && (rest || t.opacity === 0));
            if (!counts) { sum += t.opacity === 0 ? 0.5 : 0.25; }
            [t.lat, t.lon].forEach(function (a, axis) {
                if (!a) { return; }
                for (var i = 0; i < a.length; i++) {
                    var v = a[i];
                    var x = (v === null || v === undefined || Number.isNaN(v)) ? -777 : +v;
                    sum += (x + 1000) * ((i % 97) + 1) * (axis + 1) * (j + 3);
                }
                if (axis === 0 && counts) { n += a.length; }
            });
        });
        return [n, n + ':' + sum.toFixed(4)];
    }

    function sample(why) {
        var f = fingerprint(cfg.movingNames, true);
        var last = P.states[P.states.length - 1];
        if (!last || last.sig !== f[1]) {
            P.states.push({t: now(), n: f[0], sig: f[1], why: why});
        }
    }

    var PLOT_FNS = ['react', 'newPlot', 'restyle', 'relayout', 'update', 'animate',
                    'extendTraces', 'prependTraces', 'addTraces', 'deleteTraces', 'moveTraces'];
    function wrapPlotly() {
        var Plotly = window.Plotly;
        if (P.wrapped || !Plotly) { return; }
        P.wrapped = true;
        PLOT_FNS.forEach(function (name) {
            var fn = Plotly[name];
            if (typeof fn !== 'function') { return; }
            Plotly[name] = function (gd) {
                var mine = (gd === graph() || gd === cfg.mapId ||
                            (gd && gd.id && gd.id === (graph() || {}).id));
                var out = fn.apply(this, arguments);
                if (mine && P.armed) {
                    P.plots.push({t: now(), fn: name});
                    sample(name);
                    if (out && typeof out.then === 'function') {
                        out.then(function () { sample(name + ':done'); }, function () {});
                    }
                }
                return out;
            };
        });
    }

    function tick() {
        wrapPlotly();
        if (P.armed) { sample('raf'); }
        requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);

    /* The pills of the access point list (#pop-status button): the first change of a pill's
       class after the click (issue 17: optimistic state, before the round trip answers). */
    P.pillChanges = [];
    function watchPills() {
        if (P.pillObserver || !window.MutationObserver || !document.body) { return; }
        P.pillObserver = new MutationObserver(function (records) {
            records.forEach(function (r) {
                var el = r.target;
                if (el.matches && el.matches('#pop-status button[data-pop]') &&
                    el.className !== r.oldValue) {
                    P.pillChanges.push({t: now(), pop: el.getAttribute('data-pop')});
                }
            });
        });
        P.pillObserver.observe(document.body, {attributes: true, attributeFilter: ['class'],
                                               attributeOldValue: true, subtree: true});
    }

    document.addEventListener('click', function (ev) {
        if (P.armed && P.tClick === null) {
            var ts = ev.timeStamp;
            P.tClick = (ts > 0 && ts <= now()) ? ts : now();
        }
    }, true);

    /* Start a measurement: forget earlier requests and states; the next click is time zero. */
    P.arm = function () {
        wrapPlotly();
        watchPills();
        P.pillChanges = [];
        P.reqs = P.reqs.filter(function (r) { return r.t1 === null; });
        P.states = [];
        P.plots = [];
        P.tClick = null;
        P.armed = true;
        sample('arm');
        return P.states[0].sig;
    };

    /* No callback request in flight and none started or ended for quietMs. */
    P.idle = function (quietMs) {
        return P.inflight === 0 && now() - P.lastNet >= quietMs;
    };

    /* The map shows paths at rest (static layers non-empty) and nothing moving. */
    P.mapReady = function () {
        wrapPlotly();
        return fingerprint(cfg.staticNames)[0] > 0 && fingerprint(cfg.movingNames, true)[0] === 0;
    };

    P.result = function () {
        var t0 = P.tClick;
        if (t0 === null) { return {clicked: false}; }
        var before = null, change = null, motion = null, end = null, frames = {};
        P.states.forEach(function (s) {
            if (s.t < t0) { before = s; return; }
            if (change === null) {
                if (!before || s.sig !== before.sig) { change = s; }
            } else if (motion === null && s.sig !== change.sig && s.n > 0) {
                motion = s;
            }
            if (change !== null && end === null) {
                if (s.n > 0) { frames[s.sig] = true; } else if (s !== change) { end = s; }
            }
        });
        if (before === null && P.states.length) { before = P.states[0]; }
        var reqs = P.reqs.filter(function (r) { return r.t0 >= t0; });
        function count(a, b) {
            return reqs.filter(function (r) {
                return r.t0 >= a && (b === null || r.t0 < b);
            }).length;
        }
        function rel(s) { return s ? s.t - t0 : null; }
        var pill = P.pillChanges.filter(function (c) { return c.t >= t0; })[0] || null;
        return {
            clicked: true,
            pillChange: rel(pill),
            firstChange: rel(change), firstMotion: rel(motion), end: rel(end),
            frames: Object.keys(frames).length,
            reqBeforeChange: change ? count(t0, change.t) : null,
            reqBeforeMotion: motion ? count(t0, motion.t) : null,
            reqDuring: (change && end) ? count(change.t, end.t + 1e-6) : null,
            reqTotal: reqs.length,
            requests: reqs.map(function (r) {
                return [r.t0 - t0, r.t1 === null ? null : r.t1 - t0];
            }),
            plots: P.plots.filter(function (p) { return p.t >= t0; }).map(function (p) {
                return [p.fn, p.t - t0];
            }),
            done: end !== null
        };
    };
})
