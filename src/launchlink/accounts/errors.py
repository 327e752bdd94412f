"""Account failures, each with its HTTP status and a message the person can act on."""

from __future__ import annotations

from launchlink.errors import BadRequest, Forbidden, Unauthenticated


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"

    def __init__(self) -> None:
        # One message for an unknown address and a wrong password: it tells nobody which.
        super().__init__("that email and password do not match an account", field="password")


class SignUpClosed(Forbidden):
    code = "sign_up_closed"

    def __init__(self) -> None:
        super().__init__(
            "this instance takes new accounts by invitation only; ask a workspace admin to "
            "invite you"
        )


class TokenRefused(BadRequest):
    """A reset or invitation link that is altered, expired, used or withdrawn."""

    code = "token_refused"


class RoleRefused(Forbidden):
    code = "role_refused"
