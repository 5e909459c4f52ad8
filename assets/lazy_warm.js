/*
 * Lazy components resolved before the layout renders (issue 16, docs/performance.md, P3).
 *
 * dcc.Graph is a React.lazy component: the first render of one always suspends (React.lazy starts
 * loading its code only when first rendered, and a promise is never resolved synchronously), so
 * the layout's first render showed the map's Suspense fallback, and React rendered the real graph
 * in a later, low-priority retry that, on this page, waited for the scene round trip's answer
 * (~0.3-0.5 s) -- so the world map served in the layout (callbacks/scene.serve_initial_map) could
 * not be drawn before that answer either. Its code is already on the page (dashboard/serving.py,
 * FIRST_RENDER_CHUNKS); rendering it once into a detached root while the layout is being fetched
 * starts its lazy loader, which resolves within a few microtasks, so the layout's first render
 * mounts the map at once and plotly.js draws it while the round trip is out.
 *
 * Only dcc.Graph: warming DataTable, Dropdown and Upload too would mount the two tables and nine
 * inputs in the first render as well, before dash-renderer sends the round trip (tried: no
 * better); they stay lazy (their code is on the page, so they are ready for the round trip).
 *
 * The detached root is rendered synchronously (flushSync: the lazy component suspends at once,
 * its fallback is committed) and unmounted straight away: no real component is ever mounted
 * there, nothing is plotted, no Dash store is touched. Any failure only loses the gain.
 */
(function () {
    'use strict';

    // [namespace on window, component] of the lazy components to resolve before the layout.
    var LAZY = [['dash_core_components', 'Graph']];

    function warm() {
        var React = window.React, ReactDOM = window.ReactDOM;
        if (!React || !ReactDOM || !ReactDOM.createRoot || !ReactDOM.flushSync) { return; }
        LAZY.forEach(function (item) {
            var ns = window[item[0]], Component = ns && ns[item[1]];
            if (!Component) { return; }
            try {
                var root = ReactDOM.createRoot(document.createElement('div'));
                ReactDOM.flushSync(function () {
                    root.render(React.createElement(React.Suspense, {fallback: null},
                        React.createElement(Component, {id: 'lazy-warm-' + item[1],
                                                        setProps: function () {}})));
                });
                root.unmount();
            } catch (e) { /* an optimisation only: the page renders them lazily as before */ }
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', warm);
    } else {
        warm();
    }
}());
