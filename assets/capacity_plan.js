/*
 * The capacity view's planning inputs (issue 15) -> edit requests, in the browser, like
 * assets/edits.js: the instance bandwidth (Mbps), the spill-over what-if, the cost inputs and
 * the announcement bias sliders (issue 20).
 * Each writes ONE `capacity`/`cost` request into `scenario-edit`; the server checks every field
 * again (dashboard/domain/edits.py). `show` fills the inputs from the scenario store, so a
 * link or an undo shows what the scenario has; it returns no_update when they already do.
 */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    anycastPlan: (function () {
        'use strict';
        var DEFAULT_MBPS = 1000;

        function noUpdate() { return window.dash_clientside.no_update; }
        /* The input that fired a pattern-matching callback: {id (the parsed dict id), value},
         * or null (an initial call, or a prop_id that is not one of ours). */
        function triggered() {
            var t = window.dash_clientside.callback_context.triggered;
            if (!t || !t.length || !t[0].prop_id || t[0].prop_id === '.') { return null; }
            try {
                return {id: JSON.parse(t[0].prop_id.slice(0, t[0].prop_id.lastIndexOf('.'))),
                        value: t[0].value};
            } catch (e) { return null; }
        }
        function edit(fields) {
            return Object.assign({nonce: Date.now() + Math.random()}, fields);
        }
        function storeMbps(store) {
            var v = store && store.instance_mbps;
            return (v === null || v === undefined) ? DEFAULT_MBPS : Number(v);
        }
        function storeSpill(store) { return !!(store && store.spill_whatif); }
        /* The sliders' range (dashboard/domain/bias.py SLIDER_MIN_MS / SLIDER_MAX_MS). */
        var BIAS_MIN = -50, BIAS_MAX = 50;
        function clampBias(v) { return Math.max(BIAS_MIN, Math.min(BIAS_MAX, v)); }

        return {
            /* The inputs as the scenario has them (nothing when they already show it). */
            show: function (store, mbps, spill) {
                var want = storeMbps(store), on = storeSpill(store);
                var sameMbps = mbps !== null && mbps !== undefined && Number(mbps) === want;
                var sameSpill = ((spill || []).indexOf('on') >= 0) === on;
                return [sameMbps ? noUpdate() : want, sameSpill ? noUpdate() : (on ? ['on'] : [])];
            },

            instance: function (mbps, store) {
                if (mbps === undefined) { return noUpdate(); }
                if (mbps !== null && Number(mbps) === storeMbps(store)) { return noUpdate(); }
                /* empty (or not a number): back to the documented default */
                return edit({op: 'capacity', instance_mbps: mbps === null ? null : Number(mbps)});
            },

            spill: function (value, store) {
                var on = (value || []).indexOf('on') >= 0;
                return on === storeSpill(store) ? noUpdate() : edit({op: 'capacity', spill: on});
            },

            /* The cost inputs as the scenario has them (utilisation shown in %). */
            costShow: function (store, values, idList) {
                var cost = (store && store.cost) || {};
                var changed = false;
                var out = (idList || []).map(function (id, i) {
                    var v = cost[id.key];
                    var want = (v === undefined || v === null) ? null
                        : (id.key === 'util' ? Math.round(v * 1e6) / 1e4 : v);
                    var have = values ? values[i] : undefined;
                    var same = (want === null && (have === null || have === undefined ||
                                                  have === '')) ||
                               (want !== null && have !== null && have !== undefined &&
                                Number(have) === Number(want));
                    if (!same) { changed = true; }
                    return same ? noUpdate() : want;
                });
                return changed ? out : noUpdate();
            },

            /* The bias sliders as the scenario has them (issue 20; ms, 0 = none). A value
             * beyond the slider's range (a link may say up to +-100 ms) shows at its end. */
            biasShow: function (store, values, idList) {
                var bias = (store && store.bias) || {};
                var changed = false;
                var out = (idList || []).map(function (id, i) {
                    var want = clampBias(Number(bias[id.pop] || 0));
                    var have = values ? values[i] : undefined;
                    if (have !== null && have !== undefined && Number(have) === want) {
                        return noUpdate();
                    }
                    changed = true;
                    return want;
                });
                return changed ? out : noUpdate();
            },

            /* One bias slider released: set that access point's bias (0 clears it); nothing
             * when it shows what the scenario has (or the end of the range for a value beyond
             * it, drawn by biasShow). */
            bias: function (values, idList, store) {
                var t = triggered();
                if (!t) { return noUpdate(); }
                var id = t.id;
                var value = Number(t.value);
                if (!isFinite(value)) { return noUpdate(); }
                var now = Number(((store && store.bias) || {})[id.pop] || 0);
                if (value === now || value === clampBias(now)) { return noUpdate(); }
                return edit({op: 'bias', set: Object.fromEntries([[id.pop, value]])});
            },

            biasReset: function (n) {
                return n ? edit({op: 'bias', reset: true}) : noUpdate();
            },

            /* One cost input changed: set it (empty clears it; utilisation % -> 0-1). */
            cost: function (values, idList, store) {
                var t = triggered();
                if (!t) { return noUpdate(); }
                var id = t.id;
                var value = t.value;
                var cost = (store && store.cost) || {};
                var now = cost[id.key];
                if (value === null || value === undefined || value === '') {
                    return (now === undefined || now === null) ? noUpdate()
                        : edit({op: 'capacity', cost: Object.fromEntries([[id.key, null]])});
                }
                var v = id.key === 'util' ? Number(value) / 100 : Number(value);
                if (now !== undefined && now !== null && Number(now) === v) { return noUpdate(); }
                return edit({op: 'capacity', cost: Object.fromEntries([[id.key, v]])});
            }
        };
    })()
});
