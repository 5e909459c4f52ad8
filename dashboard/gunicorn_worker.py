"""gunicorn worker that never gives a thread to a connection before its request head is in
(issue 13, finding 2: idle and slow-header clients). Used by ``gunicorn.conf.py``.

gunicorn's ``sync`` worker serves one connection per process: two sockets that send nothing
stopped the Procfile's server, and two clients sending their headers a byte at a time kept both
workers blocked until gunicorn killed them for timeout. gunicorn 27's ``gthread`` worker helps
with *idle* sockets (a thread waits up to 5 s for a first byte, then parks the socket in its
poller), but a connection that has sent one byte is read by a thread, blocking, to the end of
its head: 200 slow-header clients need 200 threads, and every idle socket still holds a thread
for its first 5 s.

:class:`HeadFirstWorker` is ``gthread`` with one change: the request head (request line and
headers, up to the blank line) is read in the worker's event loop, non-blocking, into a small
buffer per connection; only a complete head goes to the thread pool, where gunicorn's own parser
reads it from that buffer. A slow or idle client then costs a socket and at most
:data:`MAX_HEAD_BYTES` of memory, never a thread. Bounds:

* a head must be complete within ``HEAD_TIMEOUT_S`` of the connection (or of the previous
  response on a kept-alive connection, where gunicorn's ``keepalive`` applies first); the
  connection is then closed;
* a head larger than :data:`MAX_HEAD_BYTES`, or a request line longer than gunicorn's
  ``limit_request_line``, is answered from the event loop (431 / the app's own 414 page);
* connections per worker stay bounded by gunicorn's ``worker_connections``;
* kept-alive connections are shared evenly between the workers: one holding a connection per
  thread leaves the next connection, for at most :data:`BALANCE_WAIT_S`, to a worker holding
  fewer (counts on a board shared by the workers), so a burst opened at once does not all land
  on the worker that woke first.

Also: gunicorn's check of the response headers remembers the headers it passed
(:class:`CheckedHeadersResponse`): the dashboard sends the same ten on every API answer.

A request line over ``limit_request_line`` (a link too long to open) gets the dashboard's own
page (:func:`link_too_long_page`) instead of gunicorn's bare "Bad Request" HTML, whichever path
finds it. TLS (``certfile``) and HTTP/2 prior knowledge keep gunicorn's own path (the head is
then read by a thread, as in ``gthread``).
"""

from __future__ import annotations

import errno
import html
import mmap
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.errors import LimitRequestLine
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, TConn, ThreadWorker

#: Seconds a client has to send a complete request head after connecting (nginx's
#: ``client_header_timeout`` idea; browsers send the head in one packet, a few ms).
HEAD_TIMEOUT_S = 10.0
#: How long a worker may leave a waiting connection to a less loaded worker before it takes it
#: anyway (seconds): bounds the delay a connection sees when the other worker is slow to wake.
#: While leaving, the worker looks again every :data:`ACCEPT_YIELD_S`.
BALANCE_WAIT_S = 0.02
#: Seconds between two looks while leaving connections to another worker.
ACCEPT_YIELD_S = 0.001
#: A worker whose board entry is older than this is not counted (stuck in a long request with
#: the GIL held, or gone): nobody leaves connections to it.
BOARD_STALE_S = 2.0
_BOARD_SLOTS = 64  # entries (workers ever alive at once: WEB_CONCURRENCY, far fewer)
_FIELDS = 4  # pid, connections held, open (1: would accept), heartbeat (time.monotonic_ns)
#: The workers' shared board, made at import in gunicorn's master (which loads the worker
#: class before it forks), so that every worker maps the same page: anonymous mmap is
#: MAP_SHARED. Each worker writes only its own entry (slot ``age % _BOARD_SLOTS``); 8-byte
#: aligned writes are read whole by the others.
_BOARD = memoryview(mmap.mmap(-1, _BOARD_SLOTS * _FIELDS * 8)).cast("q")
#: Largest request head read in the event loop (request line + headers). The page's own
#: requests have heads of ~1 kB; 32 kB leaves room for an 8 kB link plus cookies. Bigger heads
#: get a 431 without reaching a thread.
MAX_HEAD_BYTES = 32 * 1024
_END = b"\r\n\r\n"


def link_too_long_page(length: int, limit: int) -> bytes:
    """The dashboard's answer to a request line longer than gunicorn's ``limit_request_line``
    (a complete HTTP/1.1 414 response: status line, headers, HTML body)."""
    body = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Link too long - Anycast EIP dashboard</title></head><body>"
        "<h1>This link is too long to open</h1>"
        f"<p>Its request line is {length:,} bytes; this dashboard accepts links of up to "
        f"{limit:,} bytes. Links made by the dashboard's Share button stay under 4,000 "
        "characters (they leave out client names, then clients, to fit); this one was made or "
        "edited elsewhere.</p>"
        "<p>To share many clients, export the scenario (JSON) or the client list (CSV) and load "
        "that file instead.</p>"
        "<p><a href=\"/\">Open the dashboard without this link</a></p></body></html>"
    ).encode()
    head = ("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\n"
            "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def _simple_response(status: str, message: str) -> bytes:
    body = html.escape(message).encode()
    return (f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


#: Most response headers :class:`CheckedHeadersResponse` remembers; the memory is cleared when
#: it is full. With :data:`CHECKED_VALUE_MAX` that bounds it to ~0.6 MB per worker whatever the
#: app sends (the dashboard's own headers: ~20 of them, ~2 kB).
CHECKED_HEADERS_CAP = 512
#: Longest header remembered (name and value, characters); longer ones are checked every time
#: (the page's CSP, the longest header the dashboard sends, is ~700).
CHECKED_VALUE_MAX = 1024
#: (name, value) -> the header as gunicorn keeps it (value stripped of blanks), for headers
#: gunicorn's check passed that carry no state (not ``Content-Length``, not hop-by-hop). Per
#: worker process; shared by its threads (dict reads and writes are atomic under the GIL).
_CHECKED: dict[tuple[str, str], tuple[str, str]] = {}


class CheckedHeadersResponse(gunicorn_wsgi.Response):
    """gunicorn's HTTP/1 response, whose response-header check remembers the headers it passed.

    Why (issue 16, docs/performance.md "P4"): gunicorn checks every response header on every
    response (two regular-expression matches, type checks, ``strip``, ``lower``, a hop-by-hop
    lookup): ~1.3-1.7 us a header here. The dashboard's answers carry the same ten headers
    again and again (the security headers of :mod:`dashboard.headers`, ``Vary``,
    ``Cache-Control``, ``Content-Type``, ``X-Cache``): 13-17 us of gunicorn's work per
    ``/api/v1/nearest`` answer against 3-3.5 us for a bare Flask answer's two, and under load
    ~6 % of the API's throughput (``benchmarks/api_variants.py``, variant ``header-check``). A
    header seen before -- the same name and the same value, both plain ``str`` -- is now
    appended as gunicorn kept it the first time (~3 us for the ten). Headers that set state (``Content-Length``, which sets the response
    length, and hop-by-hop ones: ``Connection``, ``Upgrade``...) and anything that is not a
    tuple of two ``str`` go through gunicorn's own check every time, as does every header not
    seen before: a header gunicorn would refuse is refused exactly as before (the same
    exception), and is never remembered. Bounded: at most :data:`CHECKED_HEADERS_CAP` entries
    of at most :data:`CHECKED_VALUE_MAX` characters, then forgotten all at once (a client that
    makes the app send many distinct or long header values only costs the check again)."""

    def process_headers(self, headers: Any) -> None:
        checked = _CHECKED
        kept = self.headers
        for pair in headers:
            try:
                known = checked.get(pair)
            except TypeError:  # an unhashable pair (e.g. a list): gunicorn's check says
                known = None
            if known is not None:
                kept.append(known)
                continue
            before = len(kept)
            super().process_headers((pair,))  # raises as gunicorn does for a bad header
            if (len(kept) == before + 1 and type(pair) is tuple and len(pair) == 2
                    and type(pair[0]) is str and type(pair[1]) is str
                    and len(pair[0]) + len(pair[1]) <= CHECKED_VALUE_MAX
                    and pair[0].lower() != "content-length"
                    and not gunicorn_util.is_hoppish(pair[0])):
                if len(checked) >= CHECKED_HEADERS_CAP:
                    checked.clear()
                checked[pair] = kept[-1]


def use_checked_headers_response() -> None:
    """Make gunicorn build :class:`CheckedHeadersResponse` for every HTTP/1 response of this
    process (``gunicorn.http.wsgi.create``'s default response class; HTTP/2 passes its own).
    Called by each worker at start (:meth:`HeadFirstWorker.init_process`)."""
    gunicorn_wsgi.Response = CheckedHeadersResponse  # type: ignore[misc]


class HeadFirstWorker(ThreadWorker):
    """``gthread`` whose threads only ever see connections with a complete request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Connections whose head is being read, oldest first (deadlines only grow).
        self.heading: deque[TConn] = deque()
        self._stop_capped = False
        self._heavy_held = 0
        self._heavy_slots = 0
        #: ``time.monotonic()`` until which this worker leaves new connections to the others
        #: (0: not leaving), and since when it has been leaving them (0: not leaving).
        self._yield_until = 0.0
        self._leaving_since = 0.0
        self._slot = (self.age % _BOARD_SLOTS) * _FIELDS
        self._warm = False

    def init_process(self) -> None:
        from dashboard import admission

        admission.watch_heavy(lambda held, slots: self.method_queue.defer(
            self._heavy_changed, held, slots))
        use_checked_headers_response()
        super().init_process()

    def run(self) -> None:
        self._warm_up()
        self._warm = True
        try:
            super().run()
        finally:
            _BOARD[self._slot] = 0  # gone: the others stop counting this entry at once

    def _warm_up(self) -> None:
        """One request through the app before this worker accepts connections.

        Dash sets up its script registry (the files ``/_dash-component-suites/`` may serve) on a
        process's first request, and marks that done *before* doing it: with threads, a request
        for react-dom arriving meanwhile found the registry empty and got a 404, and the page
        never rendered (seen in the browser tests). Sync workers never had two requests at once.
        """
        from werkzeug.test import EnvironBuilder

        environ = EnvironBuilder(path="/healthz", base_url="http://127.0.0.1/").get_environ()
        try:
            body = self.wsgi(environ, lambda status, headers, exc_info=None: None)
            for _ in body:
                pass
            if hasattr(body, "close"):
                body.close()
        except Exception:  # the app reports its own errors; serving must still start
            self.log.exception("warm-up request failed")

    # -- leaving new connections to the other workers while computing a heavy request -------
    def _heavy_changed(self, held: int, slots: int) -> None:
        self._heavy_held, self._heavy_slots = held, slots
        self.set_accept_enabled(self.nr_conns < self.worker_connections)

    def set_accept_enabled(self, enabled: bool) -> None:
        """While this process computes a heavy request (dashboard/admission.py), new connections
        go to the other workers: a light request here would share the GIL with pandas/numpy and
        run several times slower. Only when fewer slots than workers exist, so that at least one
        worker always accepts."""
        deferring = (self.alive and self._heavy_held > 0
                     and self._heavy_slots < self.cfg.workers)
        yielding = self._yield_until > 0.0 and time.monotonic() < self._yield_until
        super().set_accept_enabled(enabled and not deferring and not yielding)
        self._publish()

    # -- sharing kept-alive connections evenly between the workers --------------------------
    # The workers share one listening socket and whichever wakes first accepts, so connections
    # opened at once (a proxy's pool, a load generator) could all land on one worker and stay
    # there for their life: it then served them on one core while the other idled (measured
    # under wrk, 50 connections: 1,474 req/s instead of 4,474; docs/performance.md "P4").
    # Each worker now publishes how many connections it holds; one that holds a connection per
    # thread or more leaves a waiting connection to an accepting worker holding fewer (by 2 or
    # more), for at most BALANCE_WAIT_S. A worker whose entry stopped moving (stuck, gone) is
    # not counted; with one worker nothing changes.

    def _publish(self) -> None:
        """This worker's board entry: pid, connections, open, heartbeat."""
        b, i = _BOARD, self._slot
        b[i] = self.pid
        b[i + 1] = self.nr_conns
        # Open: would accept, not counting its own short yields (two workers each seeing the
        # other mid-yield would both take connections they meant to leave).
        b[i + 2] = int(self._warm and self.alive and self.nr_conns < self.worker_connections
                       and not (self._heavy_held > 0 and self._heavy_slots < self.cfg.workers))
        b[i + 3] = time.monotonic_ns()

    def _leave_to_others(self) -> bool:
        """Whether an accepting, live worker holds at least 2 connections fewer than this one
        (only asked once this one holds a connection per thread)."""
        mine = self.nr_conns
        if mine < self.cfg.threads or self.cfg.workers < 2:
            return False
        b, fresh = _BOARD, time.monotonic_ns() - int(BOARD_STALE_S * 1e9)
        for i in range(0, _BOARD_SLOTS * _FIELDS, _FIELDS):
            if (i != self._slot and b[i] and b[i + 2] and b[i + 3] >= fresh
                    and b[i + 1] <= mine - 2 and b[i] != self.pid):
                return True
        return False

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Each loop turn (at least once a second) refreshes the board entry; while leaving the
        listener to the others, wake when the yield ends to look again."""
        if self._yield_until > 0.0:
            left = self._yield_until - time.monotonic()
            if left <= 0.0:
                self._yield_until = 0.0
                self.set_accept_enabled(self.nr_conns < self.worker_connections)
            else:
                timeout = min(timeout, left)
        self._publish()
        super().wait_for_and_dispatch_events(timeout)

    # -- where connections enter the event loop --------------------------------------------
    def _plain(self, conn: TConn) -> bool:
        """Whether this connection's head can be read in the event loop (plain HTTP/1.x)."""
        return not (self.cfg.is_ssl or negotiation.prior_knowledge_allowed(self.cfg, conn.client))

    def accept(self, listener: socket.socket) -> None:
        if self._leave_to_others():
            now = time.monotonic()
            if not self._leaving_since:
                self._leaving_since = now
            if now - self._leaving_since < BALANCE_WAIT_S:
                self._yield_until = now + ACCEPT_YIELD_S
                self.set_accept_enabled(self.nr_conns < self.worker_connections)
                return
        self._leaving_since = 0.0
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        _BOARD[self._slot + 1] = self.nr_conns
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())  # non-blocking
        if self._plain(conn):
            self._read_head(conn, time.monotonic() + HEAD_TIMEOUT_S)
        else:
            client_sock.setblocking(True)
            self.enqueue_req(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection sends its next request: read that head here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if self._plain(conn):
            self._read_head(conn, time.monotonic() + HEAD_TIMEOUT_S)
            self._on_head_readable(conn, client)  # the bytes that woke us are there already
        else:
            self.enqueue_req(conn)

    # -- reading heads in the event loop ----------------------------------------------------
    def _read_head(self, conn: TConn, deadline: float) -> None:
        if not self.alive:  # stopping: see murder_pending
            deadline = min(deadline, time.monotonic() + STOP_KEEPALIVE_LINGER)
        conn.head = bytearray()
        conn.head_deadline = deadline
        self.heading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self._on_head_readable, conn))

    def _stop_reading(self, conn: TConn) -> None:
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.heading.remove(conn)
        except ValueError:
            pass

    def _drop(self, conn: TConn, answer: bytes | None = None) -> None:
        self._stop_reading(conn)
        self.nr_conns -= 1
        if answer:
            try:
                conn.sock.send(answer)  # non-blocking; a few hundred bytes fit any socket buffer
            except OSError:
                pass
        conn.close()

    def _on_head_readable(self, conn: TConn, client: socket.socket) -> None:
        try:
            data = conn.sock.recv(MAX_HEAD_BYTES + 1 - len(conn.head))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client went away
            self._drop(conn)
            return
        conn.head += data
        head = conn.head
        limit = self.cfg.limit_request_line
        line_end = head.find(b"\r\n")
        line_len = line_end if line_end >= 0 else len(head)
        if limit > 0 and line_len > limit + 2:
            self.log.warning("Invalid request from ip=%s: request line over %d bytes",
                             conn.client[0] if conn.client else "", limit)
            self._drop(conn, link_too_long_page(line_len, limit))
            return
        if _END not in head:
            if len(head) > MAX_HEAD_BYTES:
                self._drop(conn, _simple_response(
                    "431 Request Header Fields Too Large",
                    f"request head over {MAX_HEAD_BYTES} bytes"))
            return  # wait for more (bounded by the head deadline)
        # Complete: hand the buffered bytes to a thread; gunicorn's parser reads them first.
        self._stop_reading(conn)
        conn.prebuffer = bytes(head)
        conn.head = bytearray()
        conn.data_ready = True
        self.enqueue_req(conn)

    def murder_pending(self) -> None:
        """Called once per event-loop turn (at most 1 s apart): also close connections whose
        head did not arrive in time."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and not self._stop_capped:
            # Stopping (max_requests, a reload, SIGTERM): a head already on its way is still
            # served (with "Connection: close"), as gthread does for kept-alive connections;
            # one that does not come within STOP_KEEPALIVE_LINGER is closed. Capping every entry
            # at one deadline keeps the deque in order.
            self._stop_capped = True
            for conn in self.heading:
                conn.head_deadline = min(conn.head_deadline, now + STOP_KEEPALIVE_LINGER)
        while self.heading and self.heading[0].head_deadline <= now:
            self._drop(self.heading[0])

    # -- in a thread ------------------------------------------------------------------------
    def handle(self, conn: TConn) -> Any:
        pre = getattr(conn, "prebuffer", None)
        if pre is not None:
            conn.prebuffer = None
            conn.sock.setblocking(True)
            conn.init()  # plain HTTP/1.x: creates the parser, reads nothing
            conn.parser.unreader.unread(pre)
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if isinstance(exc, LimitRequestLine):
            # Reached only when the head was read by a thread (TLS): the same page as above.
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
            limit = self.cfg.limit_request_line
            length = exc.size if isinstance(getattr(exc, "size", None), int) else limit + 1
            try:
                client.sendall(link_too_long_page(length, limit))
            except OSError:
                self.log.debug("Failed to send the 414 page.")
            return
        super().handle_error(req, client, addr, exc)
