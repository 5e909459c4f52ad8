"""The one caller of Alibaba Cloud's Anycast EIP API: a thin, read-only wrapper around the
official SDK (``alibabacloud-eipanycast20200309`` on ``alibabacloud-tea-openapi``).

Four calls, all reads (docs/provider.md lists them with their RAM actions):
``ListAnycastEipAddresses`` (paged by ``NextToken``, at most :data:`MAX_PAGES` pages),
``DescribeAnycastEipAddress``, ``DescribeAnycastPopLocations`` and
``DescribeAnycastServerRegions``. Each returns the response *body* as a plain dict (the SDK's
``body.to_map()``, the same JSON the ``aliyun`` CLI prints), which
:mod:`dashboard.domain.provider` maps to the scenario.

Credentials come only from the SDK's standard chain (``alibabacloud_credentials``' default
provider: the ``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET`` environment variables, an OIDC role,
the CLI's ``~/.aliyun/config.json``, ``~/.alibabacloud/credentials.ini``, the ECS instance RAM
role...). This module never reads, stores, logs or shows a key: errors carry our own text and
the API's error *code*, never the SDK's message (which echoes request details).

Bounded: connect and read timeouts (ms), at most ``max_attempts`` tries per call (a retry only
after throttling or a network error, after ``backoff_s``), one call at a time per process (a
lock), and every answer cached for ``cache_s`` seconds (the configuration changes rarely; a
browser's repeated clicks must not hit the API's rate limit).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from dashboard.domain.provider import MAX_PAGES, PAGE_SIZE

#: ``ServiceLocation`` of every call: the only documented value (areas outside the Chinese
#: mainland).
SERVICE_LOCATION = "international"

#: What the user is told to do when no credentials are found (shown in the panel).
HOW_TO_CREDENTIALS = (
    "No Alibaba Cloud credentials were found. Give the dashboard a read-only RAM user's "
    "AccessKey through the SDK's standard chain, e.g. the environment variables "
    "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET (or a CLI profile, "
    "~/.alibabacloud/credentials.ini, or an ECS instance RAM role), then restart it. "
    "docs/provider.md lists the least-privilege policy. Without credentials, upload a saved "
    "JSON of the API's responses instead.")


class ProviderError(Exception):
    """A call failed; ``kind`` says how and ``str()`` is the message for the user (no secret,
    no request detail). Kinds: credentials, auth, forbidden, throttled, timeout, network, api,
    data, disabled."""

    def __init__(self, kind: str, message: str, code: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach the API (from :class:`dashboard.settings.Settings`).

    ``endpoint``: host[:port] override (None: the SDK's rule for ``region_id``); ``protocol``:
    ``https`` (``http`` only for a local stub); timeouts in milliseconds.
    """

    region_id: str = "cn-hangzhou"
    endpoint: str | None = None
    protocol: str = "https"
    connect_timeout_ms: int = 3000
    read_timeout_ms: int = 10000
    max_attempts: int = 2
    backoff_s: float = 1.0
    cache_s: float = 60.0


_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurityToken",
               "IncompleteSignature", "InvalidAccessKeySecret")
_FORBIDDEN_CODES = ("Forbidden", "NoPermission", "UnauthorizedOperation")


def _classify(exc: BaseException) -> ProviderError:
    """The SDK's exception -> a :class:`ProviderError` with a message for the user."""
    if isinstance(exc, ProviderError):
        return exc
    code = str(getattr(exc, "code", "") or "")
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    text = f"{name}: {exc}".lower()
    if code == "InvalidCredentials" or "credential" in name.lower() or (
            not code and "credentials" in text and "unable to load" in text):
        return ProviderError("credentials", HOW_TO_CREDENTIALS, code or "InvalidCredentials")
    if code.startswith("Throttling") or status == 429:
        return ProviderError("throttled", f"The provider's API is throttling requests "
                                          f"({code or status}); wait a minute and try again.",
                             code)
    if any(code.startswith(c) for c in _AUTH_CODES):
        return ProviderError("auth", f"The provider refused the credentials ({code}): check "
                                     "the AccessKey ID and secret of the configured RAM user "
                                     "(or its STS token).", code)
    if any(code.startswith(c) for c in _FORBIDDEN_CODES) or status == 403:
        return ProviderError("forbidden", f"The RAM user may not read Anycast EIPs "
                                          f"({code or status}): attach the read-only policy "
                                          "of docs/provider.md.", code)
    if code:
        return ProviderError("api", f"The provider's API answered with error {code[:60]}"
                                    + (f" (HTTP {status})" if status else "") + ".", code)
    if "timed out" in text or "timeout" in text:
        return ProviderError("timeout", "The provider's API did not answer in time; try again "
                                        "later.")
    return ProviderError("network", "Could not reach the provider's API (network error: "
                                    f"{name}); check the connection or the endpoint setting.")


def _retryable(err: ProviderError) -> bool:
    return err.kind in ("throttled", "timeout", "network")


class ProviderClient:
    """Read-only calls to the Anycast EIP API (module docstring). ``credential``: an
    ``alibabacloud_credentials`` client; None = the default chain (the only choice in
    production; tests pass a static one)."""

    def __init__(self, config: ProviderConfig, credential: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._credential = credential
        self._sdk: Any = None
        self._sleep = sleep
        self._lock = threading.Lock()
        self._cache: dict[tuple, tuple[float, Any]] = {}

    # -- SDK plumbing ----------------------------------------------------------------------------
    def _client(self) -> Any:
        if self._sdk is None:
            from alibabacloud_credentials.client import Client as CredentialClient
            from alibabacloud_eipanycast20200309.client import Client
            from alibabacloud_tea_openapi import models as open_api_models
            try:
                credential = self._credential or CredentialClient()
            except Exception as exc:  # the chain found nothing (message names no secret)
                raise _classify(exc) from None
            cfg = open_api_models.Config(
                credential=credential, region_id=self.config.region_id,
                protocol=self.config.protocol,
                connect_timeout=self.config.connect_timeout_ms,
                read_timeout=self.config.read_timeout_ms)
            if self.config.endpoint:
                cfg.endpoint = self.config.endpoint
            self._sdk = Client(cfg)
        return self._sdk

    def _runtime(self) -> Any:
        from alibabacloud_tea_util import models as util_models
        return util_models.RuntimeOptions(connect_timeout=self.config.connect_timeout_ms,
                                          read_timeout=self.config.read_timeout_ms,
                                          autoretry=False, max_attempts=1)

    def _call(self, key: tuple, fn: Callable[[Any, Any], Any]) -> dict:
        """``fn(sdk_client, runtime)`` -> its body as a dict; cached, serialised, retried a
        bounded number of times; :class:`ProviderError` on failure."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.config.cache_s:
            return hit[1]
        with self._lock:  # one call at a time per process
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.config.cache_s:
                return hit[1]
            attempts = max(1, self.config.max_attempts)
            for attempt in range(attempts):
                try:
                    response = fn(self._client(), self._runtime())
                    body = response.body.to_map() if response.body is not None else {}
                    break
                except Exception as exc:  # the SDK raises many types; all are classified
                    err = _classify(exc)
                    if attempt + 1 >= attempts or not _retryable(err):
                        raise err from None
                    self._sleep(self.config.backoff_s * (attempt + 1))
            self._cache[key] = (time.monotonic(), body)
            if len(self._cache) > 256:  # bounded: drop the oldest
                oldest = min(self._cache, key=lambda k: self._cache[k][0])
                self._cache.pop(oldest, None)
            return body

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- the four calls --------------------------------------------------------------------------
    def list_pages(self, max_pages: int = MAX_PAGES) -> tuple[list[dict], bool]:
        """``ListAnycastEipAddresses`` bodies, following ``NextToken``; True when more pages
        were left unread (the cap)."""
        from alibabacloud_eipanycast20200309 import models
        pages: list[dict] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        for _ in range(max(1, max_pages)):
            request = models.ListAnycastEipAddressesRequest(
                service_location=SERVICE_LOCATION, max_results=PAGE_SIZE, next_token=token)
            body = self._call(("list", token),
                              lambda c, rt, r=request: c.list_anycast_eip_addresses_with_options(
                                  r, rt))
            pages.append(body)
            nxt = body.get("NextToken")
            if not isinstance(nxt, str) or not nxt or nxt in seen_tokens:
                return pages, False
            seen_tokens.add(nxt)
            token = nxt
        return pages, True

    def describe(self, anycast_id: str) -> dict:
        """``DescribeAnycastEipAddress`` body of one Anycast EIP."""
        from alibabacloud_eipanycast20200309 import models
        request = models.DescribeAnycastEipAddressRequest(anycast_id=anycast_id)
        return self._call(("describe", anycast_id),
                          lambda c, rt: c.describe_anycast_eip_address_with_options(request, rt))

    def pop_locations(self) -> dict:
        """``DescribeAnycastPopLocations`` body."""
        from alibabacloud_eipanycast20200309 import models
        request = models.DescribeAnycastPopLocationsRequest(service_location=SERVICE_LOCATION)
        return self._call(("pops",),
                          lambda c, rt: c.describe_anycast_pop_locations_with_options(request,
                                                                                       rt))

    def server_regions(self) -> dict:
        """``DescribeAnycastServerRegions`` body."""
        from alibabacloud_eipanycast20200309 import models
        request = models.DescribeAnycastServerRegionsRequest(service_location=SERVICE_LOCATION)
        return self._call(("regions",),
                          lambda c, rt: c.describe_anycast_server_regions_with_options(request,
                                                                                        rt))
