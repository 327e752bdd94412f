"""The pre-save domain's failures; each carries its HTTP status (see launchlink.errors)."""

from __future__ import annotations

from typing import Literal

from launchlink.errors import BadRequest, Conflict, LaunchlinkError, NotFound, ValidationFailed

StateProblem = Literal["unknown", "foreign_browser", "replayed", "expired"]


class OAuthStateRefused(BadRequest):
    """The callback's ``state`` is not one this browser started, or was already used."""

    code = "oauth_state_refused"

    def __init__(self, problem: StateProblem) -> None:
        super().__init__(f"sign-in refused: {problem.replace('_', ' ')} state")
        self.problem = problem


class ConsentDenied(BadRequest):
    code = "consent_denied"


class ConnectFailed(LaunchlinkError):
    """The service refused the sign-in after consent (bad code, unreachable service)."""

    status_code = 502
    code = "connect_failed"


class InvalidContact(ValidationFailed):
    """An email address or phone number that cannot be used."""

    code = "invalid_contact"


class LinkExpired(LaunchlinkError):
    status_code = 410
    code = "link_expired"


class LinkInvalid(NotFound):
    code = "link_invalid"


class NotBeforeRelease(Conflict):
    """Pre-saves are taken only during the pre-save phase."""

    code = "not_in_presave_phase"


class ServiceNotOffered(BadRequest):
    code = "service_not_offered"


class TokensGone(LaunchlinkError):
    """The grant's tokens were deleted (revoked by the fan, or after fulfilment)."""

    status_code = 409
    code = "tokens_gone"


class AlreadyConfirmed(Conflict):
    """A confirmation link that was already used (its address is proven)."""

    code = "already_confirmed"


class ForeignBrowser(LaunchlinkError):
    """A page or link bound to the browser that made a pre-save, opened in another one."""

    status_code = 403
    code = "foreign_browser"
