/*
 * Upload size check in the browser, before a CSV is sent to the server.
 *
 * dcc.Upload reads the chosen file into a base64 data URL. A file over the server's cap
 * (Settings.max_upload_bytes, given here through the store `clients-upload-limit`) would make the
 * callback request exceed the server's request cap: the server answers 413 and the page can show
 * nothing. Here such a file becomes an error notice (through the `scenario-edit` store, like every
 * other edit) and is never sent; a file under the cap becomes an `upload` request in the same
 * store, which the server's one round trip parses (and checks again: size, rows, the client cap).
 * The upload's contents are cleared either way, so the same file can be chosen again after
 * fixing it.
 */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    anycast_upload: {
        check: function (contents, filename, limit) {
            var noUpdate = window.dash_clientside.no_update;
            if (contents === null || contents === undefined) {
                return [noUpdate, noUpdate];
            }
            var name = (typeof filename === 'string' && filename) ? filename : 'upload';
            var comma = contents.indexOf(',');
            var b64 = comma >= 0 ? contents.length - comma - 1 : contents.length;
            var bytes = Math.floor(b64 * 3 / 4);
            if (typeof limit === 'number' && bytes > limit + 3) {
                var size = function (n) {
                    if (n >= 1048576) { return (n / 1048576).toFixed(1) + ' MB'; }
                    if (n >= 1024) { return Math.round(n / 1024) + ' KB'; }
                    return n + ' bytes';
                };
                var text = name + ' is ' + size(bytes) + ', larger than the ' + size(limit) +
                    ' upload limit; nothing was added and your clients are unchanged. ' +
                    'Split the file or keep the columns lat,lon[,name][,weight].';
                return [{op: 'notice', nonce: Date.now(),
                         notices: [{level: 'error', text: text}]},
                        null];
            }
            return [{op: 'upload', contents: contents, filename: name, nonce: Date.now()}, null];
        }
    }
});
