"""One error class per failure, each carrying its HTTP status and a stable code.

The JSON API renders every :class:`LaunchlinkError` as
``{"error": {"code": ..., "message": ..., "field": ...}}``; the CLI prints the message.
Messages are written for the person who must act on them.
"""

from __future__ import annotations


class LaunchlinkError(Exception):
    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class BadRequest(LaunchlinkError):
    status_code = 400
    code = "bad_request"


class ValidationFailed(LaunchlinkError):
    """A payload that parses but breaks a rule (bad UPC, unknown service...)."""

    status_code = 422
    code = "validation_failed"


class InvalidTimeRange(ValidationFailed):
    """An analytics range that cannot be answered (from after to, naive, too long...)."""

    code = "invalid_time_range"


class Unauthenticated(LaunchlinkError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(LaunchlinkError):
    status_code = 403
    code = "forbidden"


class NotFound(LaunchlinkError):
    """Also what another workspace's resources look like: they do not exist for you."""

    status_code = 404
    code = "not_found"


class OwnershipNotProven(LaunchlinkError):
    """A custom domain's DNS record or HTTP token was not found (the message says which)."""

    status_code = 422
    code = "ownership_not_proven"


class Conflict(LaunchlinkError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(LaunchlinkError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(LaunchlinkError):
    status_code = 503
    code = "service_unavailable"
