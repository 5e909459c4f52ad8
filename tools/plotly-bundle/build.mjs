// Builds the dashboard's partial plotly.js bundle. Run through ../build_plotly_bundle.sh, which
// installs package-lock.json into a temporary directory and runs this file there:
//
//     node build.mjs <output directory>
//
// Writes <output directory>/plotly-custom-<plotly.js version>.min.js and plotly.js-LICENSE.txt.
// Mirrors the choices of plotly.js's own dist bundles (esbuild, IIFE with global `Plotly`,
// target es2016, `global` -> `window`, `define.amd` -> false, attribute descriptions stripped,
// licence comments of bundled packages kept at the end), with two differences: no calendars
// component (the dashboard sets no calendar attributes) and maplibre-gl's CSS left out (it is
// only injected for `map` subplots, whose trace types are not in the bundle).

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const outDir = path.resolve(process.argv[2] || '.');

const plotlyPkg = require('plotly.js/package.json');
const plotlyDir = path.dirname(require.resolve('plotly.js/package.json'));
const plotlySrc = path.join(plotlyDir, 'src') + path.sep;

// Trace types: `scatter` comes with plotly.js/lib/core, the others are registered in index.js.
const entry = path.join(here, 'index.js');
const registered = [...fs.readFileSync(entry, 'utf8').matchAll(/require\('plotly\.js\/lib\/(\w+)'\)/g)]
    .map((m) => m[1]).filter((t) => t !== 'core');
const traces = ['scatter', ...registered];

// Attribute descriptions are documentation for the schema (Plotly.PlotSchema), never used to
// draw; plotly.js strips them from its dist bundles too. Only these exact shapes are removed:
//     description: 'one string literal',            (alone on its line)
//     description: ['string', 'literals'].join(' '), (ending its line)
// anything else (concatenations, variables) stays.
const STR = "'(?:[^'\\\\\\n]|\\\\.)*'";
const DESCRIPTION = [
    new RegExp(`^[ \\t]*description: ${STR},?[ \\t]*\\n`, 'gm'),
    new RegExp(`^[ \\t]*description: \\[(?:\\s*${STR}\\s*,?)*\\s*\\]\\.join\\(${STR}\\),?[ \\t]*\\n`, 'gm'),
];
let stripped = 0;
const stripDescriptions = {
    name: 'strip-attribute-descriptions',
    setup(b) {
        b.onLoad({ filter: /\.js$/ }, async (args) => {
            if (!args.path.startsWith(plotlySrc)) return undefined;
            let code = await fs.promises.readFile(args.path, 'utf8');
            for (const re of DESCRIPTION) {
                code = code.replace(re, () => { stripped += 1; return ''; });
            }
            return { contents: code, loader: 'js' };
        });
    },
};

const droppedCss = new Set();
const noCss = {
    name: 'no-css',
    setup(b) {
        b.onResolve({ filter: /\.css$/ }, (args) => {
            droppedCss.add(args.path);
            return { path: args.path, namespace: 'no-css' };
        });
        b.onLoad({ filter: /.*/, namespace: 'no-css' }, () => ({ contents: '', loader: 'js' }));
    },
};

// plotly.js's own header (copyright line included), then what this file is and how it was made.
const distHeader = fs.readFileSync(path.join(plotlyDir, 'dist', 'plotly.min.js'), 'utf8')
    .split('*/')[0];
const copyright = distHeader.split('\n').filter((l) => /^\* (Copyright|All rights|Licensed)/.test(l));
const header = [
    '/**',
    `* plotly.js (custom: ${traces.join(', ')} - minified) v${plotlyPkg.version}`,
    ...copyright,
    '*',
    '* Partial plotly.js bundle of the Anycast EIP Dashboard: the npm package',
    `* plotly.js@${plotlyPkg.version} with only the trace types ${traces.join(', ')}`,
    '* (no calendars component, no maplibre-gl CSS; attribute descriptions stripped).',
    `* Built with esbuild ${esbuildVersion} by tools/build_plotly_bundle.sh from`,
    '* tools/plotly-bundle/ (index.js, package-lock.json). Do not edit: rebuild.',
    '* Licence: assets/vendor/plotly.js-LICENSE.txt; bundled packages\' notices at the end.',
    '*/',
].join('\n');

const outfile = path.join(outDir, `plotly-custom-${plotlyPkg.version}.min.js`);
const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'iife',
    globalName: 'Plotly',
    platform: 'browser',
    target: 'es2016',
    minify: true,
    legalComments: 'eof',
    sourcemap: false,
    define: { global: 'window', 'define.amd': 'false' },
    plugins: [stripDescriptions, noCss],
    banner: { js: header },
    footer: { js: 'window.Plotly = Plotly;' },
    logLevel: 'warning',
    metafile: true,
});
if (result.errors.length) process.exit(1);
const leftovers = Object.keys(result.metafile.outputs).filter((f) => !f.endsWith('.js'));
if (leftovers.length) throw new Error(`unexpected outputs: ${leftovers}`);

fs.copyFileSync(path.join(plotlyDir, 'LICENSE'), path.join(outDir, 'plotly.js-LICENSE.txt'));

const bytes = fs.readFileSync(outfile);
const gz = zlib.gzipSync(bytes, { level: 9 }).length;
console.log(`${path.basename(outfile)}: ${bytes.length} bytes, ${gz} gzip -9`);
console.log(`trace types: ${traces.join(', ')}; descriptions stripped: ${stripped}; ` +
            `CSS left out: ${[...droppedCss].join(', ') || 'none'}`);
