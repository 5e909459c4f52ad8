/*
 * Keyboard access to the view tabs ("Map" | "Capacity planning" | "Support").
 *
 * dcc.Tabs in Dash 4.4 renders each tab as a <div> with a click handler only: no role, no
 * tabindex, no key handling, so the tabs never take focus and N-1 and Support were mouse-only
 * (issue 17). This script gives the tab bar the ARIA tabs pattern: role=tablist on the bar,
 * role=tab + aria-selected + tabindex=0 on every tab (each is a Tab stop), Enter / Space select
 * the focused tab (a click: Dash's own handler sets the value), Left / Right / Home / End move
 * the focus along the bar. A MutationObserver re-applies the attributes whenever Dash re-renders
 * the bar (a tab selected by a click, a link, "Explain ›"). No request, no Dash callback.
 */
(function () {
    'use strict';

    var BAR_ID = 'view-tabs';

    function tabs(bar) {
        return Array.prototype.filter.call(bar.children, function (el) {
            return el.classList && el.classList.contains('tab');
        });
    }

    function decorate(bar) {
        if (bar.getAttribute('role') !== 'tablist') { bar.setAttribute('role', 'tablist'); }
        tabs(bar).forEach(function (tab) {
            var selected = tab.classList.contains('tab--selected') ? 'true' : 'false';
            if (tab.getAttribute('role') !== 'tab') { tab.setAttribute('role', 'tab'); }
            if (tab.getAttribute('tabindex') !== '0') { tab.setAttribute('tabindex', '0'); }
            if (tab.getAttribute('aria-selected') !== selected) {
                tab.setAttribute('aria-selected', selected);
            }
        });
    }

    function onKey(event) {
        var bar = event.currentTarget;
        var list = tabs(bar);
        var i = list.indexOf(event.target);
        if (i < 0) { return; }
        var next = null;
        if (event.key === 'Enter' || event.key === ' ' || event.key === 'Spacebar') {
            event.preventDefault();
            event.target.click();
            return;
        }
        if (event.key === 'ArrowRight') { next = list[(i + 1) % list.length]; }
        if (event.key === 'ArrowLeft') { next = list[(i - 1 + list.length) % list.length]; }
        if (event.key === 'Home') { next = list[0]; }
        if (event.key === 'End') { next = list[list.length - 1]; }
        if (next) {
            event.preventDefault();
            next.focus();
        }
    }

    var watched = null;

    function attach() {
        var bar = document.getElementById(BAR_ID);
        if (!bar || bar === watched) { return; }
        watched = bar;
        decorate(bar);
        bar.addEventListener('keydown', onKey);
        new MutationObserver(function () { decorate(bar); }).observe(bar, {
            subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
    }

    // The layout arrives after this script runs: watch the page until the bar exists, then stop
    // (the page's other mutations, e.g. the failover animation, are none of this script's
    // business; the bar is never replaced, only its tabs re-rendered).
    var page = new MutationObserver(function () {
        attach();
        if (watched) { page.disconnect(); }
    });
    page.observe(document.documentElement, {childList: true, subtree: true});
    attach();
    if (watched) { page.disconnect(); }
}());
