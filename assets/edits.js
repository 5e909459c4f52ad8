/*
 * Widgets -> edit requests, in the browser.
 *
 * Every widget that changes the scenario writes ONE request into the store `scenario-edit`
 * (ids.SCENARIO_EDIT); the server's one round trip (dashboard/callbacks/scene.py) applies it and
 * returns every output that changed. These clientside callbacks only translate a click or a
 * value into a request -- no server request of their own -- so a click on an access point pill is
 * exactly one request to the server before the map starts moving.
 *
 * Requests are plain JSON (dashboard/domain/edits.py lists the ops; the ones that need server
 * data, e.g. `city`, `preset`, `model_input`, are resolved in dashboard/services/requests.py).
 * The server checks every field again: these functions are a convenience, not a guard.
 *
 * A function returns `no_update` for events that are not user actions: a re-rendered button
 * (n_clicks 0), a picker re-rendered with the value the scenario already has.
 */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    anycastEdits: (function () {
        'use strict';

        function noUpdate() { return window.dash_clientside.no_update; }

        /* The input that fired: {id (string or pattern object), prop, value}, or null. */
        function trigger() {
            var t = window.dash_clientside.callback_context.triggered;
            if (!t || !t.length || !t[0].prop_id || t[0].prop_id === '.') { return null; }
            var pid = t[0].prop_id;
            var dot = pid.lastIndexOf('.');
            var id = pid.slice(0, dot);
            if (id.charAt(0) === '{') {
                try { id = JSON.parse(id); } catch (e) { return null; }
            }
            return {id: id, prop: pid.slice(dot + 1), value: t[0].value};
        }

        function edit(fields) {
            return Object.assign({nonce: Date.now() + Math.random()}, fields);
        }

        /* Put `text` on the clipboard: the async Clipboard API, else a selected textarea and
         * execCommand('copy') (pages served over plain http on another host than localhost). */
        function copyText(text) {
            function fallback() {
                var area = document.createElement('textarea');
                area.value = text;
                area.setAttribute('readonly', '');
                area.style.position = 'fixed';
                area.style.opacity = '0';
                document.body.appendChild(area);
                area.select();
                try { document.execCommand('copy'); } catch (e) { /* nothing more to try */ }
                document.body.removeChild(area);
            }
            if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(text).catch(fallback);
            } else {
                fallback();
            }
        }

        var POP_STATUS_ID = 'pop-status';

        /* Optimistic state (issue 17): the pill of `pop` shows its new state at once, marked
         * pending, instead of ~0.4-1.5 s later when the round trip answers; the answer then
         * sets every pill's class from the scenario (the pending mark goes with it). */
        function optimisticPill(pop) {
            if (typeof document === 'undefined') { return; }  // Node (tests): no page
            var box = document.getElementById(POP_STATUS_ID);
            var pills = box ? box.querySelectorAll('button[data-pop]') : [];
            Array.prototype.forEach.call(pills, function (el) {
                if (el.getAttribute('data-pop') !== pop) { return; }
                var down = el.classList.contains('pop-down');
                el.classList.toggle('pop-down', !down);
                el.classList.toggle('pop-up', down);
                el.classList.add('pop-pending');
            });
        }

        var MAP_ID = 'world-map';

        /* Optimistic state of a clicked access point marker: dimmed at once (plotly redraws it
         * from the answer). `p`: the clicked point (curveNumber, pointNumber). */
        function optimisticMarker(p) {
            if (typeof document === 'undefined' || !p) { return; }
            var host = document.getElementById(MAP_ID);
            var layers = host ? host.querySelectorAll('g.trace.scattergeo') : [];
            Array.prototype.forEach.call(layers, function (g) {
                var d = g.__data__;
                if (!(d && d[0] && d[0].trace && d[0].trace.index === p.curveNumber)) { return; }
                var pt = g.querySelectorAll('path.point')[p.pointNumber];
                if (pt) { pt.style.opacity = '0.35'; }
            });
        }

        /* Optimistic state of a city picked in the search (issue 17: first visible change
         * <= 0.3 s): a pending marker at its position, drawn over the map in the pick's own turn
         * (a DOM element over the plot, projected with the geo subplot's own projection: no
         * plotly call, which would redraw the whole map), until plotly draws the round trip's
         * figure (`plotly_afterplot`) or, at the latest, after PENDING_MS. */
        var PENDING_MS = 30000;
        function optimisticClient(lat, lon, title) {
            if (typeof document === 'undefined') { return; }
            var host = document.getElementById(MAP_ID);
            var gd = host ? host.querySelector('.js-plotly-plot') : null;
            var geo = gd && gd._fullLayout && gd._fullLayout.geo;
            var sub = geo && geo._subplot;
            var box = gd ? gd.querySelector('.svg-container') : null;
            if (!sub || !sub.projection || !box) { return; }
            var p = sub.projection([lon, lat]);
            var xa = sub.xaxis || {}, ya = sub.yaxis || {};
            if (!p || !Number.isFinite(p[0]) || !Number.isFinite(p[1]) ||
                    (Number.isFinite(xa._offset) && (p[0] < xa._offset ||
                     p[0] > xa._offset + xa._length || p[1] < ya._offset ||
                     p[1] > ya._offset + ya._length))) {
                return;  // outside the map's view: nothing to show there
            }
            var el = document.createElement('div');
            el.className = 'pending-client';
            el.title = title || 'Adding this city…';
            el.style.left = p[0] + 'px';
            el.style.top = p[1] + 'px';
            box.appendChild(el);
            var timer = null;
            var off = function () {
                if (el.parentNode) { el.parentNode.removeChild(el); }
                if (timer !== null) { clearTimeout(timer); }
                if (gd.removeListener) { gd.removeListener('plotly_afterplot', off); }
            };
            if (typeof gd.on === 'function') { gd.on('plotly_afterplot', off); }
            timer = setTimeout(off, PENDING_MS);
            return off;
        }
        // also for assets/map_click.js: a click on the map draws the client it adds at once
        if (typeof window !== 'undefined') {
            window.anycastMap = window.anycastMap || {};
            window.anycastMap.pendingClient = optimisticClient;
        }

        function sameSet(a, b) {
            var x = (a || []).slice().sort(), y = (b || []).slice().sort();
            return x.length === y.length && x.every(function (v, i) { return v === y[i]; });
        }

        return {
            /* "Load into scenario" (Provider panel): the chosen Anycast EIP's `provider_load`
             * edit, prepared by the server when the EIP was chosen (the reducer checks it). */
            providerLoad: function (n, loadEdit) {
                if (!n || !loadEdit || typeof loadEdit !== 'object') { return noUpdate(); }
                return edit(loadEdit);
            },

            /* A pill of the access point list: mark it down / back up. */
            pill: function () {
                var t = trigger();
                if (!t || !t.value || typeof t.id !== 'object') { return noUpdate(); }
                optimisticPill(t.id.pop);
                return edit({op: 'toggle_pop', pop: t.id.pop});
            },

            /* "All up" / "All down" (the pill ids name every access point). */
            allPops: function (_up, _down, pillIds) {
                var t = trigger();
                if (!t || !t.value) { return noUpdate(); }
                var all = (pillIds || []).map(function (i) { return i.pop; });
                return edit({op: 'set_down', down: t.id === 'pops-all-down' ? all : []});
            },

            clear: function (n) {
                return n ? edit({op: 'clear'}) : noUpdate();
            },

            /* A cell of the assignment table: the ✕ column removes the client; any other cell
             * selects it: every cell of its row is selected (highlighted) and the explain picker
             * set. No tab switch ("Explain ›" does that). -> [edit, active_cell,
             * selected_cells, client] */
            tableCell: function (cell, columns) {
                var nu = noUpdate();
                if (!cell || cell.row_id === null || cell.row_id === undefined) {
                    return [nu, nu, nu, nu];
                }
                if (cell.column_id === 'remove') {
                    return [edit({op: 'remove', index: cell.row_id}), null, [], nu];
                }
                if (typeof cell.row_id !== 'number') { return [nu, nu, nu, nu]; }
                var row = typeof cell.row === 'number' ? cell.row : 0;
                var cells = (Array.isArray(columns) ? columns : []).map(function (c, i) {
                    return {row: row, column: i, row_id: cell.row_id,
                            column_id: c && c.id};
                }).filter(function (c) { return c.column_id !== 'remove'; });
                return [nu, nu, cells, cell.row_id];
            },

            /* A click on a map marker: an access point toggles; a client is selected (the
             * explain picker set; its table row made active on the page that holds it, which
             * selects the row through tableCell). -> [edit, client, active_cell, page].
             * `layers.clients` is the clients layer's index; its markers carry their index as
             * customdata, except when plotly sent customdata as a typed array (compact mode):
             * then the nearest client within 1e-4 degrees. `rowIds`: the table's row ids in
             * display order (every page), `pageSize` its rows per page. */
            mapClick: function (click, store, layers, pillIds, rowIds, pageSize, columns) {
                var nu = noUpdate();
                var p = click && click.points && click.points[0];
                if (!p) { return [nu, nu, nu, nu]; }
                // plan mode: the click plans a PoP there (assets/map_click.js), nothing else
                var plan = typeof document !== 'undefined' &&
                    document.getElementById('plan-pop-mode');
                if (plan && String(plan.className).indexOf('plan-mode--on') >= 0) {
                    return [nu, nu, nu, nu];
                }
                var cd = Array.isArray(p.customdata) ? p.customdata[0] : p.customdata;
                var pops = (pillIds || []).map(function (i) { return i.pop; });
                // planned PoPs have no pill: their ids come from the scenario (a down one is
                // drawn in the "down" layer, so the layer alone does not tell)
                ((store && store.planned) || []).forEach(function (pl) {
                    if (pl && typeof pl.id === 'string') { pops.push(pl.id); }
                });
                if (typeof cd === 'string' && (pops.indexOf(cd) >= 0 ||
                        (layers && p.curveNumber === layers.planned))) {
                    optimisticPill(cd);
                    optimisticMarker(p);
                    return [edit({op: 'toggle_pop', pop: cd}), nu, nu, nu];
                }
                if (!layers || p.curveNumber !== layers.clients) { return [nu, nu, nu, nu]; }
                var best = -1;
                if (typeof cd === 'number' && cd >= 0 && Math.floor(cd) === cd) {
                    best = cd;
                } else {
                    var clients = (store && store.clients) || [], gap = 1e-4;
                    clients.forEach(function (c, i) {
                        var g = Math.max(Math.abs(c.lat - p.lat), Math.abs(c.lon - p.lon));
                        if (g < gap) { gap = g; best = i; }
                    });
                }
                if (best < 0) { return [nu, nu, nu, nu]; }
                var pos = Array.isArray(rowIds) ? rowIds.indexOf(best) : -1;
                var size = typeof pageSize === 'number' && pageSize > 0 ? pageSize : 0;
                if (pos < 0 || !size) { return [nu, best, nu, nu]; }
                var col = (Array.isArray(columns) ? columns : []).map(function (c) {
                    return c && c.id;
                }).indexOf('client');
                col = col < 0 ? 0 : col;
                return [nu, best, {row: pos % size, column: col, row_id: best,
                                   column_id: 'client'}, Math.floor(pos / size)];
            },

            /* The assignment table's optional columns (issue 17: no sideways scroll at
             * 1440 px): "Before last change" and "Change ms" only after a failover change
             * moved a listed client, "BGP likely" only when a listed client is flagged.
             * -> hidden_columns */
            tableColumns: function (rows) {
                var list = Array.isArray(rows) ? rows : [];
                var moved = list.some(function (r) { return r && r.moved === 1; });
                var flagged = list.some(function (r) { return r && r.flagged === 1; });
                return (moved ? [] : ['before', 'change_ms']).concat(flagged ? [] : ['bgp']);
            },

            /* The explain picker changed: "Explain ›" is enabled for a picked client and the
             * line beside it names it. -> [disabled, text] */
            explainPicked: function (value, options) {
                if (typeof value !== 'number') {
                    return [true, 'Click a row or a client (◆) to select it'];
                }
                var label = null;
                (options || []).forEach(function (o) {
                    if (o && o.value === value) { label = o.label; }
                });
                return [false, 'Selected: ' + (label || ('client #' + (value + 1)))];
            },

            /* "Explain ›": show the Support tab (it explains the picked client). */
            explainOpen: function (n) {
                return n ? 'support' : noUpdate();
            },

            /* The city search picked a city or an IP address ('ip:<address>', located on the
             * server with the GeoIP database) (-> [edit, cleared picker]); a city gets a pending
             * marker at once (`points`: ids.CITY_SEARCH_POINTS). */
            city: function (value, points) {
                if (value === null || value === undefined) { return [noUpdate(), noUpdate()]; }
                if (typeof value === 'string' && value.indexOf('ip:') === 0) {
                    return [edit({op: 'ip', ip: value.slice(3)}), null];
                }
                var at = points && points[String(value)];
                if (Array.isArray(at) && at.length === 2) { optimisticClient(+at[0], +at[1]); }
                return [edit({op: 'city', id: value}), null];
            },

            preset: function (key) {
                if (!key) { return [noUpdate(), noUpdate()]; }
                return [edit({op: 'preset', key: key}), null];
            },

            coords: function (_clicks, _submits, text) {
                var t = trigger();
                if (!t || !t.value) { return noUpdate(); }
                return edit({op: 'coords', text: text || ''});
            },

            /* A scenario JSON chosen in the support tab (-> [edit, cleared upload]). */
            importFile: function (contents, filename) {
                if (contents === null || contents === undefined) {
                    return [noUpdate(), noUpdate()];
                }
                return [edit({op: 'import', contents: contents, filename: filename || ''}), null];
            },

            /* The endpoints panel: the add form, the mapped access points of an endpoint, and
             * its buttons (mark down, make default, dissociate; what-if make default / remap). */
            endpoint: function () {
                var args = Array.prototype.slice.call(arguments);
                var addPops = args[args.length - 1], addRegion = args[args.length - 2];
                var store = args[args.length - 3];
                var t = trigger();
                if (!t) { return noUpdate(); }
                if (t.id === 'endpoint-add') {
                    if (!t.value) { return noUpdate(); }
                    return edit({op: 'endpoint_add', region: addRegion || '',
                                 pops: addPops || []});
                }
                if (typeof t.id !== 'object' || typeof t.id.region !== 'string') {
                    return noUpdate();
                }
                var kind = String(t.id.type || '').replace(/^endpoint-/, '');
                if (kind === 'pops') {
                    var now = ((store && store.mappings) || []).filter(function (m) {
                        return m[0] === t.id.region;
                    });
                    if (!Array.isArray(t.value) || (now.length && sameSet(now[0][1], t.value))) {
                        return noUpdate();  // a re-render, not a user change
                    }
                    return edit({op: 'endpoint_map', region: t.id.region, pops: t.value});
                }
                if (!t.value) { return noUpdate(); }  // a freshly rendered button
                var op = {down: 'endpoint_down', 'default': 'endpoint_default',
                          whatif: 'endpoint_default', remove: 'endpoint_remove',
                          unmap: 'endpoint_remove', unbind: 'endpoint_promote',
                          promote: 'endpoint_promote'}[kind];
                return op ? edit({op: op, region: t.id.region}) : noUpdate();
            },

            /* A latency model input; nothing when it shows what the scenario has (`shown`, the
             * store the round trip writes: an input rebuilt from the scenario re-fires). */
            modelInput: function (values, idList, shown) {
                var t = trigger();
                if (!t || typeof t.id !== 'object') { return noUpdate(); }
                var want = shown && shown.model && shown.model[t.id.name];
                if (want !== undefined && want !== null && Number(t.value) === Number(want)) {
                    return noUpdate();
                }
                return edit({op: 'model_input', name: t.id.name, values: values, ids: idList});
            },

            /* The routing policy radio; nothing when it only shows the scenario's policy (the
             * round trip sets it after a link or an edit). */
            policy: function (value, store) {
                var t = trigger();
                if (!t || !value) { return noUpdate(); }
                var now = (store && store.policy) || 'geographic';
                return value === now ? noUpdate() : edit({op: 'policy', policy: value});
            },

            /* Who the clients are (end users / data-centre servers); nothing when the radio
             * only shows the scenario's type (the round trip sets it after a link or an edit). */
            access: function (value, store) {
                var t = trigger();
                if (!t || !value) { return noUpdate(); }
                var now = (store && store.access) || 'end-user';
                return value === now ? noUpdate() : edit({op: 'access', access: value});
            },

            modelReset: function (n) {
                return n ? edit({op: 'model', reset: true}) : noUpdate();
            },

            /* The capacity controls; nothing when they show what the scenario has (rebuilt). */
            capacityInput: function (source, scale, def, shown) {
                var t = trigger();
                if (!t) { return noUpdate(); }
                var changed = {'demand-source': 'source', 'demand-scale': 'scale',
                               'default-capacity': 'default'}[t.id];
                if (!changed) { return noUpdate(); }
                var now = shown && shown.capacity;
                if (now && now.source === source && Number(now.scale) === Number(scale) &&
                        Number(now['default']) === Number(def)) {
                    return noUpdate();
                }
                return edit({op: 'capacity_input', changed: changed, source: source,
                             scale: scale, 'default': def});
            },

            capacityTable: function (ts, rows) {
                if (!ts) { return noUpdate(); }
                return edit({op: 'capacity_table', rows: rows});
            },

            /* "Plan a PoP here": arms (or disarms) the next map click, which then adds a planned
             * access point (assets/map_click.js reads the class). -> [className, label] */
            planMode: function (n, cls) {
                if (!n) { return [noUpdate(), noUpdate()]; }
                var on = String(cls || '').indexOf('plan-mode--on') < 0;
                return [on ? 'btn plan-mode plan-mode--on' : 'btn plan-mode',
                        on ? 'Click the map… (cancel)' : 'Plan a PoP here'];
            },

            /* The planned PoP input: ID:lat,lon, lat, lon or a city name (resolved server-side). */
            plannedInput: function (_clicks, _submits, text) {
                var t = trigger();
                if (!t || !t.value) { return noUpdate(); }
                return edit({op: 'planned_input', text: text || ''});
            },

            /* A city picked for a planned PoP (-> [edit, cleared picker]). */
            plannedCity: function (value) {
                if (value === null || value === undefined) { return [noUpdate(), noUpdate()]; }
                return [edit({op: 'planned_city', id: value}), null];
            },

            /* The planned PoPs table after the user edited a cell or deleted a row. */
            plannedTable: function (ts, rows) {
                if (!ts) { return noUpdate(); }
                return edit({op: 'planned_table', rows: rows || []});
            },

            /* "Copy link" (-> [label, className, title]): the link is this page's address with
             * the query the round trip last wrote (`search`: the current scenario) plus the tab
             * shown (`view=capacity|support`; the map is the default). A change of the scenario
             * or of the tab resets the label: "Copied" only while the copied link is current. */
            share: function (_n, search, tab) {
                var t = trigger();
                var idle = ['Copy link', 'share', 'Copy a link to this scenario and view'];
                if (!t || t.id !== 'share-link' || !t.value) { return idle; }
                var q = String(search || '').replace(/^\?/, '').split('&').filter(function (p) {
                    return p && p.split('=')[0].toLowerCase() !== 'view';
                });
                if (tab === 'capacity' || tab === 'support') { q.push('view=' + tab); }
                var loc = window.location;
                var link = loc.origin + loc.pathname + (q.length ? '?' + q.join('&') : '');
                copyText(link);
                return ['Copied', 'share share--copied', 'Copied: ' + link];
            },

            /* The observed-entry picker of the explained client; nothing when it shows what
             * the scenario has recorded (the explanation was drawn again). */
            observe: function (values, idList, store) {
                if (!values || !values.length || !idList || !idList.length) { return noUpdate(); }
                var client = idList[0].client;
                var rec = ((store && store.observed) || []).filter(function (o) {
                    return o && o.client === client;
                });
                var now = rec.length ? rec[0].pop : null;
                if ((values[0] || null) === (now || null)) { return noUpdate(); }
                return edit({op: 'observe_input', index: client, value: values[0]});
            },

            /* "Use as observed PoP": the pasted traceroute/mtr and the picked client; the server
             * infers the entry point again from the text (services/observe.py) and records it,
             * or says why nothing changes. */
            observeTrace: function (n, text, client) {
                if (!n) { return noUpdate(); }
                return edit({op: 'observe_trace', index: client, text: text || ''});
            }
        };
    }())
});
