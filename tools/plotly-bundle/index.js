'use strict';

// Entry point of the dashboard's custom plotly.js bundle (see ../build_plotly_bundle.sh).
// Keep this list equal to dashboard/serving.py BUNDLE_TRACE_TYPES; `scatter` is part of
// plotly.js/lib/core.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/scattergeo'),
    require('plotly.js/lib/choropleth'),
    require('plotly.js/lib/bar'),
]);

module.exports = Plotly;
