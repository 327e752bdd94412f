"""Small HTTP helpers the service modules share (kept cheap: they sit on the hot path)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from launchlink.simulator.state import SimulatorState

JSON = "application/json; charset=utf-8"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(
    data: Any, status: int = 200, *, headers: dict[str, str] | None = None, media_type: str = JSON
) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type=media_type)


def empty(status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


def state_of(request: Request) -> SimulatorState:
    state: SimulatorState = request.app.state.simulator
    return state


def service_root(request: Request, mount: str) -> str:
    """Absolute URL of the mount ``mount`` (e.g. ``/spotify/api/v1``), honouring the
    root path the simulator itself is mounted under."""
    root_path = request.scope.get("root_path", "")
    if root_path.endswith(mount):
        root_path = root_path[: -len(mount)]
    return f"{request.url.scheme}://{request.url.netloc}{root_path}{mount}"


def simulator_root(request: Request, mount: str) -> str:
    root_path = request.scope.get("root_path", "")
    if root_path.endswith(mount):
        root_path = root_path[: -len(mount)]
    return f"{request.url.scheme}://{request.url.netloc}{root_path}"


async def form_of(request: Request) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` body, merged over nothing (last value wins)."""
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def json_body(request: Request) -> Any:
    body = await request.body()
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def add_query(url: str, params: dict[str, str | None]) -> str:
    """``url`` with ``params`` appended to its query (None values dropped)."""
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def bearer(request: Request, scheme: str = "bearer") -> str | None:
    header = request.headers.get("authorization")
    if header and header[: len(scheme) + 1].lower() == scheme + " ":
        return header[len(scheme) + 1 :].strip()
    return None
