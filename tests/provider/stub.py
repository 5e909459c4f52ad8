"""A local stand-in for Alibaba Cloud's Anycast EIP API (RPC style, API version 2020-03-09): a
real HTTP server on 127.0.0.1 that answers the SDK's real requests, so the tests run the
official SDK classes end to end without an account or the internet.

It checks what the real API checks first: the action and version (``x-acs-action``,
``x-acs-version``), the AccessKey ID and the V3 signature the SDK sends (``Authorization:
ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...``: HMAC-SHA256 over the
canonical request, Alibaba Cloud's "V3 request body and signature mechanism"), and answers
with the documented JSON bodies or error bodies (``{"Code", "Message", "RequestId"}``). A test scripts
failures per action with :meth:`Stub.fail` (HTTP status + code) or :meth:`Stub.hang`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY_ID = "LTAIstubstubstub"
ACCESS_KEY_SECRET = "stub-secret-not-a-real-key"
VERSION = "2020-03-09"


def _pct(s: str) -> str:
    return quote(s, safe="~").replace("+", "%20").replace("*", "%2A")


def v3_signature(method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 signed: list[str], secret: str) -> str:
    """ACS3-HMAC-SHA256 over the canonical request (method, URI, sorted query, the signed
    headers lower-cased and sorted, their names, the payload hash)."""
    canon_query = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(query.items()))
    canon_headers = "".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed)
    request = "\n".join([method, path or "/", canon_query, canon_headers, ";".join(signed),
                         headers.get("x-acs-content-sha256", "")])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(request.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class Stub:
    """The server; ``responses[action]``: a body, or a list of bodies served in turn (pages)."""

    def __init__(self, responses: dict[str, Any]) -> None:
        self.responses = responses
        self.requests: list[dict[str, str]] = []
        self.failures: dict[str, list[tuple[int, str]]] = {}
        self.hang_s: dict[str, float] = {}
        self._served: dict[str, int] = {}
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query, keep_blank_values=True))
                params = dict(query)
                params.update(dict(parse_qsl(body, keep_blank_values=True)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = stub.answer(self.command, url.path, query, headers, params)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "Stub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def fail(self, action: str, status: int, code: str, times: int = 1) -> None:
        """The next ``times`` calls of ``action`` answer HTTP ``status`` with error ``code``."""
        self.failures.setdefault(action, []).extend([(status, code)] * times)

    def hang(self, action: str, seconds: float) -> None:
        """Calls of ``action`` answer after ``seconds`` (or when the stub stops)."""
        self.hang_s[action] = seconds

    def calls(self, action: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("Action") == action]

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               params: dict[str, str]) -> tuple[int, Any]:
        action = headers.get("x-acs-action", "")
        self.requests.append(dict(params, Action=action, _auth=headers.get("authorization", "")))
        rid = f"STUB-{len(self.requests)}"

        def error(status: int, code: str, message: str) -> tuple[int, Any]:
            return status, {"Code": code, "Message": message, "RequestId": rid}

        if self.hang_s.get(action):
            self._stop.wait(self.hang_s[action])
        if headers.get("x-acs-version") != VERSION:
            return error(400, "InvalidVersion", "bad version")
        auth = headers.get("authorization", "")
        m = re.match(r"^ACS3-HMAC-SHA256 Credential=([^,]*),SignedHeaders=([^,]*),"
                     r"Signature=([0-9a-f]+)$", auth)
        if not m:
            return error(400, "MissingAuthorization", "no V3 signature")
        if m.group(1) != ACCESS_KEY_ID:
            return error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        want = v3_signature(method, path, query, headers, m.group(2).split(";"),
                            ACCESS_KEY_SECRET)
        if not hmac.compare_digest(m.group(3), want):
            return error(400, "SignatureDoesNotMatch", "Specified signature is not matched.")
        queued = self.failures.get(action)
        if queued:
            status, code = queued.pop(0)
            return error(status, code, f"scripted {code}")
        if action not in self.responses:
            return error(404, "InvalidAction.NotFound", f"{action} not found")
        answer = self.responses[action]
        if isinstance(answer, list):  # pages, picked by NextToken ("" = the first)
            token = params.get("NextToken", "")
            page = next((p for p in answer if p.get("_token", "") == token), None)
            if page is None:
                return error(400, "InvalidNextToken", "bad token")
            return 200, {k: v for k, v in page.items() if k != "_token"} | {"RequestId": rid}
        return 200, dict(answer) | {"RequestId": rid}
