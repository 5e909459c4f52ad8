/*
 * The world outline fetched while the page's scripts load (issue 16, docs/performance.md).
 *
 * plotly.js draws a geo map only once it has the topojson: on its first plot it fetches
 * assets/topojson/world_110m.json and draws the land in a later task, after whatever the main
 * thread is doing when the file arrives (on this page: dash-renderer preparing the first
 * callbacks, ~90 ms) -- unless the outline is already in its cache, window.PlotlyGeoAssets,
 * where it looks first. Since the map of the page opened without a query is drawn in the
 * layout's first render (callbacks/scene.serve_initial_map), having the outline there by then
 * draws the land in that same task. This starts the fetch at once (a script runs while the
 * others load), and puts the parsed file where plotly.js puts it itself; if the first plot comes
 * first, plotly.js fetches it as before. Any failure only loses the gain.
 */
(function () {
    'use strict';

    var NAME = 'world_110m';  // figures/map.py: resolution=110, the world scope
    var me = document.currentScript;
    if (!window.fetch || !me || !me.src) { return; }
    // the assets URL of this script (any routes prefix included), without its ?m= fingerprint
    var url = me.src.split('?')[0].replace(/geo_prefetch\.js$/, 'topojson/' + NAME + '.json');

    window.fetch(url, {credentials: 'same-origin'}).then(function (r) {
        return r.ok ? r.json() : null;
    }).then(function (topo) {
        if (!topo || typeof topo !== 'object') { return; }
        var assets = window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
        assets.topojson = assets.topojson || {};
        if (assets.topojson[NAME] === undefined) { assets.topojson[NAME] = topo; }
    }).catch(function () { /* plotly.js fetches it on its first plot */ });
}());
