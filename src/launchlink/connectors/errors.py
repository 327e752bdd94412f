"""Typed failures every connector raises, whatever the service.

Callers (auto-fill, pre-save, fulfilment) branch on the class, never on text:

* :class:`RateLimited` — pause this service app; ``retry_after`` is the service's hint in
  seconds (``None`` when it gave none; huge values are passed through unchanged, the
  caller decides whether to reschedule rather than sleep).
* :class:`AccessTokenExpired` — refresh the grant once and retry (see
  :func:`launchlink.connectors.base.run_with_refresh`).
* :class:`AuthRevoked` — the grant is dead (revoked, expired for good, refresh rejected):
  stop, ask the fan again.
* :class:`NotFound` — the thing does not exist (or is not visible in that country).
* :class:`NotAllowed` — the service refuses and asking again will not help (development-mode
  allow-list, missing scope, removed endpoint, disabled app). ``reason`` is a stable code.
* :class:`Transient` — 5xx, timeouts, connection errors: retry later with backoff.
* :class:`PlatformError` — anything else; carries the HTTP status and the service's message.
* :class:`NotSupported` — the service cannot do this at all (absent from its capabilities).
* :class:`Unavailable` — the connector has no credentials configured.
* :class:`ForeignHostRefused` — a request would have left the service's configured hosts.

Messages never contain tokens or secrets: they are built from the service's own error text,
which :mod:`launchlink.connectors.http` scrubs of every credential used in the request.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector failure."""

    def __init__(self, message: str, *, service: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status

    def __str__(self) -> str:
        prefix = f"{self.service}: " if self.service else ""
        suffix = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{prefix}{self.message}{suffix}"


class RateLimited(ConnectorError):
    """The service asked us to slow down (429, Deezer code 4, YouTube quotaExceeded)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None,
        service: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, service=service, status=status)
        self.retry_after = retry_after


class AuthRevoked(ConnectorError):
    """The fan's grant no longer works; only a new authorization can fix it."""


class AccessTokenExpired(ConnectorError):
    """The access token was refused before any refresh: refresh once, then retry."""


class NotFound(ConnectorError):
    """The requested resource does not exist on the service."""


APP_REFUSALS = frozenset({"invalid_client", "app_disabled", "developer_token_rejected"})
"""``NotAllowed`` reasons that blame the app's own credentials, not the fan or the request:
a setup fault no retry fixes."""


class NotAllowed(ConnectorError):
    """The service refuses the request and repeating it will not help.

    ``reason`` is one of: ``user_not_registered`` (Spotify development-mode allow-list),
    ``insufficient_scope``, ``endpoint_removed``, ``invalid_client``, ``app_disabled``,
    ``cannot_follow``, ``insufficient_privileges``, ``developer_token_rejected``,
    ``forbidden`` (anything else).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str = "forbidden",
        service: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, service=service, status=status)
        self.reason = reason


class Transient(ConnectorError):
    """A temporary failure (5xx, timeout, connection error, Deezer code 700)."""


class PlatformError(ConnectorError):
    """Any other refusal; ``status`` and the service's message are kept."""


class NotSupported(ConnectorError):
    """The service has no way to do this; it is absent from the connector's capabilities."""


class Unavailable(ConnectorError):
    """The connector is not configured (no credentials); ``message`` says what is missing."""


class ForeignHostRefused(ConnectorError):
    """A request targeted a host outside the service's configured base URLs (SSRF guard)."""
