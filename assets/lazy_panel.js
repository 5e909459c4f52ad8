/*
 * LazyPanel (dashboard/layout/components.py, issue 16): a <div> that renders its children only
 * once it has been shown. The capacity and support views are siblings of the map view toggled by
 * their `hidden` prop; mounting them hidden at load cost ~200 ms of React rendering and five
 * graph plots before the world map was drawn (docs/performance.md). Their props stay in Dash's
 * store, so callbacks into them work while they are not mounted; they are drawn from the store
 * the first time their tab is opened and stay mounted afterwards (hidden, like before).
 *
 * Registered as window.anycast_panels.LazyPanel: dash-renderer resolves a component by its
 * namespace and type on `window`. No request, no Dash callback.
 */
(function () {
    'use strict';

    var ATTRS = ['id', 'className', 'style', 'title', 'role', 'lang', 'dir', 'tabIndex'];

    function LazyPanel(props) {
        var React = window.React;
        var opened = React.useRef(false);
        if (!props.hidden) { opened.current = true; }
        var attrs = {hidden: !!props.hidden};
        ATTRS.forEach(function (k) {
            if (props[k] !== undefined && props[k] !== null) { attrs[k] = props[k]; }
        });
        Object.keys(props).forEach(function (k) {
            if (k.indexOf('aria-') === 0 || k.indexOf('data-') === 0) { attrs[k] = props[k]; }
        });
        if (!opened.current) { attrs['data-lazy'] = 'waiting'; }
        return React.createElement('div', attrs, opened.current ? props.children : null);
    }

    window.anycast_panels = Object.assign({}, window.anycast_panels, {LazyPanel: LazyPanel});
}());
