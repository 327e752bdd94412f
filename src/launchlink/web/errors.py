"""Error pages: HTML for a browser, the API's JSON error shape for everything else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from launchlink.web.security import security_headers
from launchlink.web.templates import render

TITLES = {
    400: "This request could not be read",
    403: "You cannot do this here",
    404: "Nothing here",
    405: "Not like this",
    409: "That clashes with something that exists",
    413: "That is too large",
    422: "Please check what you entered",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Temporarily unavailable",
}
CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
}


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept names text/html) outside the JSON API."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, message: str, *, code: str | None = None, html: bool = False
) -> Response:
    """The error as a page (``html``, or a browser asking) or as the API's JSON shape."""
    code = code or CODES.get(status, "http_error")
    if not html and not wants_html(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    body = render(
        "web/error.html",
        {
            "status": status,
            "title": TITLES.get(status, "Something is not right"),
            "message": message,
        },
    )
    return HTMLResponse(body, status_code=status, headers=security_headers())
