/*
 * The capacity story's buttons (issue 17), in the browser:
 *
 * - `demandFit`: the prompt's "Scale demand" writes ONE `demand_fit` request into `scenario-edit`
 *   (the server works out the scale: dashboard/services/capacity_story.py `fit_edit`);
 * - `png`: one PNG of the whole capacity view for a slide -- the key numbers, the story and the
 *   risks as text, then the capacity map, the load chart, the N-1 heat map and (after a run) the
 *   N-1 chart, each drawn by plotly.js (`Plotly.toImage`) and stacked on one canvas. Nothing is
 *   fetched: no CDN, no server request;
 * - `print`: window.print(); the `@media print` rules of assets/views.css lay the capacity view
 *   out for slides (no sidebar, header, inputs or buttons).
 */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    anycastStory: (function () {
        'use strict';
        var STATUS_ID = 'story-status';
        var GRAPHS = ['capacity-map', 'load-bars', 'n1-heatmap', 'n1-chart'];
        var WIDTH = 1400, PAD = 32, LINE = 22;

        function noUpdate() { return window.dash_clientside.no_update; }

        function status(text) {
            var dc = window.dash_clientside;
            if (dc && dc.set_props) { dc.set_props(STATUS_ID, {children: text}); }
        }

        /* The lines of text the image starts with: title, key numbers, story, risks. */
        function textLines() {
            var lines = [{text: 'Anycast EIP: capacity story (' +
                                new Date().toISOString().slice(0, 16).replace('T', ' ') +
                                ' UTC)', font: 'bold 26px sans-serif'}];
            var kpis = document.querySelectorAll('#capacity-kpis .kpi');
            var row = [];
            Array.prototype.forEach.call(kpis, function (k) {
                var v = k.querySelector('.kpi-value'), l = k.querySelector('.kpi-label');
                if (v && l) { row.push(l.innerText + ': ' + v.innerText); }
            });
            if (row.length) { lines.push({text: row.join('   ·   '), font: '15px sans-serif'}); }
            var story = document.getElementById('capacity-story');
            if (story) {
                Array.prototype.forEach.call(story.querySelectorAll('p, h3, li'), function (e) {
                    if (e.closest('.no-print')) { return; }
                    var tag = e.tagName.toLowerCase();
                    lines.push({text: (tag === 'li' ? '• ' : '') + e.innerText,
                                font: tag === 'h3' ? 'bold 18px sans-serif' : '17px sans-serif'});
                });
            }
            return lines;
        }

        /* Wrap `text` to the canvas width; returns the lines. */
        function wrap(ctx, text, width) {
            var words = String(text).split(/\s+/), out = [], cur = '';
            words.forEach(function (w) {
                var next = cur ? cur + ' ' + w : w;
                if (ctx.measureText(next).width > width && cur) { out.push(cur); cur = w; }
                else { cur = next; }
            });
            if (cur) { out.push(cur); }
            return out;
        }

        function graphImages() {
            var jobs = [];
            GRAPHS.forEach(function (id) {
                var host = document.getElementById(id);
                var gd = host && (host.classList.contains('js-plotly-plot') ? host
                                  : host.querySelector('.js-plotly-plot'));
                if (!gd || !gd._fullLayout || !gd.data || !gd.data.length) { return; }
                var w = gd._fullLayout.width, h = gd._fullLayout.height;
                jobs.push(window.Plotly.toImage(gd, {format: 'png', width: w, height: h})
                    .then(function (url) {
                        return new Promise(function (resolve) {
                            var img = new Image();
                            img.onload = function () { resolve(img); };
                            img.onerror = function () { resolve(null); };
                            img.src = url;
                        });
                    }, function () { return null; }));
            });
            return Promise.all(jobs);
        }

        function compose(images) {
            var canvas = document.createElement('canvas');
            var ctx = canvas.getContext('2d');
            var inner = WIDTH - 2 * PAD;
            var blocks = [];
            textLines().forEach(function (l) {
                ctx.font = l.font;
                wrap(ctx, l.text, inner).forEach(function (t) {
                    blocks.push({text: t, font: l.font});
                });
                blocks.push({gap: 6});
            });
            var height = PAD;
            blocks.forEach(function (b) { height += b.gap || LINE + 4; });
            /* charts side by side while they fit the width (the load chart beside the heat
               map), each row as tall as its tallest chart */
            var rows = [], row = null;
            images.filter(Boolean).forEach(function (img) {
                var scale = Math.min(1, inner / img.width);
                var p = {img: img, w: img.width * scale, h: img.height * scale};
                if (!row || row.w + 16 + p.w > inner) {
                    row = {items: [], w: -16, h: 0};
                    rows.push(row);
                }
                p.x = PAD + row.w + 16;
                row.items.push(p);
                row.w += 16 + p.w;
                row.h = Math.max(row.h, p.h);
            });
            rows.forEach(function (r) { height += r.h + 16; });
            canvas.width = WIDTH;
            canvas.height = Math.ceil(height + PAD);
            ctx.fillStyle = '#FFFFFF';
            ctx.fillRect(0, 0, canvas.width, canvas.height);
            var y = PAD;
            ctx.textBaseline = 'top';
            blocks.forEach(function (b) {
                if (b.gap) { y += b.gap; return; }
                ctx.font = b.font;
                ctx.fillStyle = '#111827';
                ctx.fillText(b.text, PAD, y);
                y += LINE + 4;
            });
            rows.forEach(function (r) {
                y += 16;
                r.items.forEach(function (p) { ctx.drawImage(p.img, p.x, y, p.w, p.h); });
                y += r.h;
            });
            return canvas;
        }

        function save(canvas) {
            return new Promise(function (resolve) {
                canvas.toBlob(function (blob) {
                    var a = document.createElement('a');
                    a.href = URL.createObjectURL(blob);
                    a.download = 'anycast-eip-capacity-' +
                        new Date().toISOString().slice(0, 10) + '.png';
                    document.body.appendChild(a);
                    a.click();
                    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
                    resolve(blob.size);
                }, 'image/png');
            });
        }

        return {
            /* The prompt's button (pattern id: drawn only with the prompt). */
            demandFit: function (clicks) {
                if (!(clicks || []).some(function (n) { return n > 0; })) { return noUpdate(); }
                return {nonce: Date.now() + Math.random(), op: 'demand_fit'};
            },

            /* -> the status line; the PNG is saved when plotly.js has drawn every chart. */
            png: function (n) {
                if (!n) { return noUpdate(); }
                if (!window.Plotly || !window.Plotly.toImage) { return 'PNG: plotly.js is not loaded'; }
                graphImages().then(compose).then(save).then(function (bytes) {
                    status('PNG saved (' + Math.round(bytes / 1024) + ' kB).');
                }, function (err) {
                    status('PNG failed: ' + (err && err.message ? err.message : err));
                });
                return 'Preparing the PNG…';
            },

            /* -> the status line; the browser's print dialog (save as PDF for slides). */
            print: function (n) {
                if (!n) { return noUpdate(); }
                document.body.classList.add('print-capacity');
                window.addEventListener('afterprint', function done() {
                    document.body.classList.remove('print-capacity');
                    window.removeEventListener('afterprint', done);
                });
                setTimeout(function () { window.print(); }, 0);
                return 'Print dialog opened: choose "Save as PDF" for slides.';
            }
        };
    }())
});
