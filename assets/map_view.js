/*
 * Map chrome, in the browser only (issue 17): no server round trip, no plotly redraw.
 *
 * 1. Zoom with Ctrl/⌘ + scroll only. The geo maps are drawn with plotly's `scrollZoom`, whose
 *    d3 zoom listens to `wheel` on the plot. A plain wheel over a map now scrolls the page: a
 *    capture-phase listener on the document stops the event before it reaches the plot (without
 *    preventDefault, so the browser scrolls) and shows a short hint over the map; with Ctrl or ⌘
 *    held the event goes through and plotly zooms (it prevents the browser's page zoom). Applies
 *    to every geo map of the page (the world map and the capacity map).
 * 2. The "Legend" button of the world map's card hides or shows the legend, which sits under
 *    the map (figures/map.py MAP_LAYOUT): a class on the card, so plotly redraws keep it.
 */
(function () {
    'use strict';

    var HINT_MS = 1400;
    var hintTimer = null;

    function geoPlot(target) {
        if (!target || !target.closest) { return null; }
        var gd = target.closest('.js-plotly-plot');
        return gd && gd._fullLayout && gd._fullLayout.geo ? gd : null;
    }

    function showHint(gd) {
        var card = gd.closest('.map-card');
        var hint = card && card.querySelector('.map-wheel-hint');
        if (!hint) { return; }
        hint.classList.add('shown');
        if (hintTimer) { clearTimeout(hintTimer); }
        hintTimer = setTimeout(function () { hint.classList.remove('shown'); }, HINT_MS);
    }

    document.addEventListener('wheel', function (e) {
        var gd = geoPlot(e.target);
        if (!gd || e.ctrlKey || e.metaKey) { return; }
        if (e.target.closest('.legend')) { return; }  // plotly scrolls a long legend itself
        e.stopPropagation();
        showHint(gd);
    }, {capture: true, passive: true});

    document.addEventListener('click', function (e) {
        var btn = e.target && e.target.closest && e.target.closest('.map-legend-toggle');
        if (!btn) { return; }
        var card = btn.closest('.map-card');
        if (!card) { return; }
        var hidden = card.classList.toggle('legend-hidden');
        btn.setAttribute('aria-pressed', hidden ? 'true' : 'false');
        btn.textContent = hidden ? 'Legend ▸' : 'Legend ▾';
    });

    window.anycastMap = window.anycastMap || {};
}());
