/*
 * "Server busy" notice for refused callback requests (issue 13, finding 3).
 *
 * Heavy callback requests (big scenarios) pass through a few shared slots on the server
 * (dashboard/admission.py); when they are all taken for longer than a short wait, the server
 * answers a callback with a JSON 503 {"error": ..., "retry_after_s": ...} and a Retry-After
 * header. Dash's renderer shows nothing for a failed callback outside debug mode, so this script
 * watches the renderer's fetch calls and shows the server's message in a banner (role=alert)
 * until the next callback succeeds or the user closes it.
 */
(function () {
    if (!window.fetch || window.__anycastBusyNotice) { return; }
    window.__anycastBusyNotice = true;
    var BANNER_ID = 'server-busy-notice';
    var original = window.fetch.bind(window);

    function hide() {
        var el = document.getElementById(BANNER_ID);
        if (el) { el.remove(); }
    }

    function show(text) {
        var el = document.getElementById(BANNER_ID);
        if (!el) {
            el = document.createElement('div');
            el.id = BANNER_ID;
            el.className = 'busy-notice notice-item notice-warning';
            el.setAttribute('role', 'alert');
            var span = document.createElement('span');
            var close = document.createElement('button');
            close.type = 'button';
            close.className = 'busy-notice-close';
            close.setAttribute('aria-label', 'Close');
            close.textContent = '\u2715';
            close.addEventListener('click', hide);
            el.appendChild(span);
            el.appendChild(close);
            document.body.appendChild(el);
        }
        el.firstChild.textContent = text;
    }

    window.fetch = function (input, init) {
        var url = typeof input === 'string' ? input : (input && input.url) || '';
        var promise = original(input, init);
        if (url.indexOf('_dash-update-component') < 0) { return promise; }
        return promise.then(function (response) {
            if (response.status === 503 && response.headers.get('X-Anycast-Busy')) {
                response.clone().json().then(function (body) {
                    show((body && body.error) ||
                         'The server is busy; this update was not applied. Try again shortly.');
                }).catch(function () {
                    show('The server is busy; this update was not applied. Try again shortly.');
                });
            } else if (response.ok) {
                hide();
            }
            return response;
        });
    };
}());
