"""The one place connectors make outbound HTTP.

Every service gets a :class:`ServiceHttp`: an ``httpx.AsyncClient`` with an explicit
timeout, no automatic redirects, an SSRF guard that refuses any host outside the service's
configured base URLs *before* sending, bounded retries for transient failures, and logs from
which tokens and secrets are removed.

Retry rules (why they are safe):

* Only transient failures are retried: connection errors, timeouts, 5xx, and what the
  service marks transient inside a 200 (Deezer code 700 — see ``transient_body``).
  4xx, 429 included, is never retried here: a 429 can carry a Retry-After of a day, and the
  caller's queue, not a sleeping worker, must wait it out.
* Reads are always retry-safe. A write is retried only when the caller says it is
  idempotent (``retry_safe=True``): repeating it cannot double anything. Spotify
  ``PUT /me/library`` and the legacy ``PUT /me/albums|tracks|following``, Apple
  ``POST /me/library`` (adding something already in the library is a no-op), Deezer
  favourites and SoundCloud ``PUT /me/followings`` are set-like. TIDAL collection writes are
  retried only with an ``Idempotency-Key``, which makes the server replay the first answer.
  Playlist appends and playlist creation are NOT idempotent (a replay duplicates the item or
  the playlist), so a timeout there surfaces as ``Transient`` with no retry.
* Backoff is exponential with full jitter and a small cap; the number of retries is bounded
  by the service's ``max_retries`` setting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from launchlink.connectors.errors import (
    AccessTokenExpired,
    ForeignHostRefused,
    NotAllowed,
    NotFound,
    PlatformError,
    RateLimited,
    Transient,
)

logger = logging.getLogger("launchlink.connectors.http")

SENSITIVE_QUERY_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
        "code",
        "code_verifier",
        "key",
        "token",
        "id_token",
    }
)
_REDACTED = "***"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words

Sleep = Callable[[float], Awaitable[None]]


def redact_url(url: httpx.URL | str) -> str:
    """The URL with sensitive query values replaced by ``***``."""
    parsed = httpx.URL(str(url))
    if not parsed.query:
        return str(parsed)
    params = [
        (name, _REDACTED if name.lower() in SENSITIVE_QUERY_PARAMS else value)
        for name, value in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(params=params))


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= _MIN_SECRET_LENGTH:
            text = text.replace(secret, _REDACTED)
    return text


class _RedactHttpxUrls(logging.Filter):
    """httpx logs every request URL at INFO; Deezer puts the fan's token in the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def _install_httpx_log_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactHttpxUrls) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxUrls())


_install_httpx_log_redaction()


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme, 0)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); ``None`` if absent.

    Huge values are returned unchanged: whether to wait or reschedule is the caller's call.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        return max(0.0, moment.timestamp() - current)
    return max(0.0, seconds)


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON body, or ``None`` when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def raise_if_throttled_or_down(response: httpx.Response, *, service: str, message: str) -> None:
    """``RateLimited`` for a 429 (``Retry-After`` as given, ``None`` when absent) and
    ``Transient`` for a 5xx: what every endpoint of every service means by them."""
    status = response.status_code
    if status == 429:
        raise RateLimited(
            message or "rate limited",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            service=service,
            status=status,
        )
    if status >= 500:
        raise Transient(message or f"HTTP {status}", service=service, status=status)


def raise_for_status(
    response: httpx.Response, *, service: str, message: str, forbidden_reason: str = "forbidden"
) -> None:
    """The typed error a plain HTTP status means; return when the response succeeded.

    401 → ``AccessTokenExpired``, 403 → ``NotAllowed(forbidden_reason)``, 404 →
    ``NotFound``, 429 → ``RateLimited``, 5xx → ``Transient``, other → ``PlatformError``.
    Each client first maps what its platform says differently (Spotify's 400 "non existing
    id", SoundCloud's 422, Google's quota reasons, Apple's codes) and then calls this with
    the message it read from its own error shape, already scrubbed of secrets.
    """
    if response.is_success:
        return
    status = response.status_code
    message = message or response.reason_phrase
    if status == 401:
        raise AccessTokenExpired(message, service=service, status=status)
    if status == 403:
        raise NotAllowed(message, reason=forbidden_reason, service=service, status=status)
    if status == 404:
        raise NotFound(message, service=service, status=status)
    raise_if_throttled_or_down(response, service=service, message=message)
    raise PlatformError(message, service=service, status=status)


class HttpLimits(Protocol):
    """The per-service settings every connector's HTTP takes (``timeout_seconds``,
    ``max_retries``)."""

    @property
    def timeout_seconds(self) -> float: ...

    @property
    def max_retries(self) -> int: ...


def service_http(
    service: str,
    settings: HttpLimits,
    *,
    base_urls: Iterable[str],
    transport: httpx.AsyncBaseTransport | None,
    secrets: Iterable[str | None] = (),
) -> ServiceHttp:
    """The :class:`ServiceHttp` of one service, with the limits its settings give."""
    return ServiceHttp(
        service=service,
        base_urls=base_urls,
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
        transport=transport,
        secrets=secrets,
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every service's client. Loading the CA bundle is
    most of what building a client costs (about 0.1 s of CPU each, seven per process at
    start-up), and the bundle is the same for all of them."""
    return httpx.create_ssl_context()


class ServiceHttp:
    """Outbound HTTP for one service: host allow-list, timeout, bounded retries, redaction."""

    def __init__(
        self,
        *,
        service: str,
        base_urls: Iterable[str],
        timeout_seconds: float,
        max_retries: int,
        transport: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str | None] = (),
        backoff_base_seconds: float = 0.2,
        backoff_cap_seconds: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.service = service
        self.allowed_origins = frozenset(_origin(httpx.URL(base)) for base in base_urls)
        self.max_retries = max(0, max_retries)
        self._secrets = tuple(secret for secret in secrets if secret)
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._sleep = sleep
        self._owns_transport = transport is None
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=_tls_context(),
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            headers={"User-Agent": "launchlink-connectors/0.1"},
        )

    def check_host(self, url: str | httpx.URL) -> httpx.URL:
        """Return the parsed URL, or raise ``ForeignHostRefused`` for any other origin."""
        parsed = httpx.URL(str(url))
        if parsed.scheme not in _DEFAULT_PORTS or _origin(parsed) not in self.allowed_origins:
            raise ForeignHostRefused(
                f"refused to send a request to {parsed.scheme}://{parsed.host}: "
                "not a configured host of this service",
                service=self.service,
            )
        return parsed

    def scrub(self, text: str, extra: Iterable[str | None] = ()) -> str:
        return scrub(text, (*self._secrets, *extra))

    async def request(
        self,
        method: str,
        url: str,
        *,
        retry_safe: bool,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        secrets: Sequence[str | None] = (),
        transient_body: Callable[[httpx.Response], bool] | None = None,
        before_attempt: Callable[[int], None] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying transient failures when ``retry_safe``.

        Returns the final response whatever its status (the service maps statuses to typed
        errors); raises ``Transient`` when the network failed on every attempt and
        ``ForeignHostRefused`` before sending anything to a foreign host. ``before_attempt``
        runs before every attempt (YouTube spends quota there; raising stops the loop).
        """
        target = self.check_host(url)
        attempts = 1 + (self.max_retries if retry_safe else 0)
        for attempt in range(1, attempts + 1):
            if before_attempt is not None:
                before_attempt(attempt)
            started = time.perf_counter()
            try:
                response = await self._client.request(
                    method, target, params=params, headers=headers, json=json, data=data
                )
            except httpx.TransportError as error:
                description = self.scrub(f"{type(error).__name__}: {error}", secrets)
                if attempt < attempts:
                    await self._back_off(attempt, method, target, description)
                    continue
                raise Transient(
                    f"{method} {target.path} failed: {description}", service=self.service
                ) from None
            self._log(method, response, attempt, time.perf_counter() - started)
            transient = response.status_code >= 500 or (
                transient_body is not None and transient_body(response)
            )
            if transient and attempt < attempts:
                await self._back_off(attempt, method, target, f"HTTP {response.status_code}")
                continue
            return response
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _back_off(self, attempt: int, method: str, url: httpx.URL, why: str) -> None:
        delay = random.uniform(0, min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1)))  # noqa: S311 - jitter, not crypto
        logger.warning(
            "%s %s %s transient failure (%s); retry %d/%d in %.2fs",
            self.service,
            method,
            redact_url(url),
            why,
            attempt,
            self.max_retries,
            delay,
        )
        await self._sleep(delay)

    def _log(self, method: str, response: httpx.Response, attempt: int, elapsed: float) -> None:
        # Redacting parses the URL again: 3 % of a fulfilment worker's CPU for a line that
        # is not written unless debugging.
        if not logger.isEnabledFor(logging.DEBUG):
            return
        logger.debug(
            "%s %s %s -> %d in %.3fs (attempt %d)",
            self.service,
            method,
            redact_url(response.request.url),
            response.status_code,
            elapsed,
            attempt,
        )

    async def aclose(self) -> None:
        # A transport handed in by the registry is shared by every service: its owner closes it.
        if self._owns_transport:
            await self._client.aclose()
