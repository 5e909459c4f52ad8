#!/usr/bin/env bash
# Rebuild assets/vendor/plotly-custom-<version>.min.js, the partial plotly.js bundle the page
# loads instead of plotly.py's full 4.8 MB one (dashboard/serving.py).
#
#     tools/build_plotly_bundle.sh
#
# Needs node >= 20 and npm with access to the npm registry. Installs the exact tree of
# tools/plotly-bundle/package-lock.json (plotly.js, esbuild) into a temporary directory with
# `npm ci --ignore-scripts`, builds there, writes the bundle and plotly.js's LICENSE into
# assets/vendor/ and removes older plotly bundles there. Node is needed only to rebuild: the
# app and its tests use the committed file.
#
# To add a trace type: add its require to tools/plotly-bundle/index.js and the type to
# BUNDLE_TRACE_TYPES in dashboard/serving.py, run this script, commit both. To move to another
# plotly.js version (it must be the one plotly.py ships, see tests/serving/test_static_serving.py):
# change the version in tools/plotly-bundle/package.json, run
# `npm install --package-lock-only --ignore-scripts` in tools/plotly-bundle, then this script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
vendor="$repo/assets/vendor"
work="$(mktemp -d "${TMPDIR:-/tmp}/plotly-bundle.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cp "$here/plotly-bundle/package.json" "$here/plotly-bundle/package-lock.json" \
   "$here/plotly-bundle/index.js" "$here/plotly-bundle/build.mjs" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

mkdir -p "$work/out"
(cd "$work" && node build.mjs "$work/out")

rm -f "$vendor"/plotly-geo-*.min.js "$vendor"/plotly-custom-*.min.js
cp "$work"/out/* "$vendor/"
ls -l "$vendor"
