"""Requests as an attacker sends them: huge, deep, odd, or aimed at a foreign Host."""

from __future__ import annotations

import contextlib
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from launchlink.app import create_app
from launchlink.config import Settings
from tests._server import RunningServer, running_server
from tests.api.conftest import Api, make_link
from tests.builders import WorkspaceKey, create_workspace_with_key

LIMIT = 1_000_000
CHUNK = 64 * 1024
TWO_HUNDRED_MB = 200 * 1024 * 1024


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < TWO_HUNDRED_MB:
            sent += CHUNK
            yield b"[" * CHUNK

    tracemalloc.start()
    try:
        response = await client.post(
            "/api/v1/artists",
            content=body(),
            headers={**owner.headers, "content-type": "application/json"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    # Reading stopped one chunk past the limit, and nothing held more than the limit.
    assert sent <= LIMIT + 2 * CHUNK
    assert peak < 8 * LIMIT


async def test_a_chunked_form_post_to_a_fan_route_is_limited_too(
    client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def form() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"email="
        while sent < TWO_HUNDRED_MB:
            sent += CHUNK
            yield b"a" * CHUNK

    response = await client.post(
        "/presave/oauth/apple",
        content=form(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert sent <= LIMIT + 2 * CHUNK


async def test_a_declared_oversize_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    response = await client.post(
        "/api/v1/artists",
        content=b"{}",
        headers={**owner.headers, "content-type": "application/json", "content-length": "9999999"},
    )
    assert response.status_code == 413


def _stream_chunked(server: RunningServer, path: str) -> tuple[bytes, int]:
    """POST a chunked body of up to 200 MB; stop as soon as the server answers."""
    chunk = b"a" * CHUNK
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        connection.setblocking(False)
        while sent < TWO_HUNDRED_MB:
            with contextlib.suppress(BlockingIOError):
                answer += connection.recv(65536)
            if answer:
                break
            try:
                sent += connection.send(frame)
            except BlockingIOError:
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
        connection.setblocking(True)
        connection.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                more = connection.recv(65536)
                if not more:
                    break
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_a_real_server_answers_413_mid_stream_without_growing_memory(
    database_url: str, tmp_path: Path, server: str
) -> None:
    env = {"LAUNCHLINK_DATABASE_URL": database_url, "LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}
    with running_server(env, server=server) as running:
        before = running.rss_bytes()
        answer, sent = _stream_chunked(running, "/presave/oauth/apple")
        after = running.rss_bytes()
        assert running.process.poll() is None  # still serving
        assert httpx.get(f"{running.base_url}/healthz").status_code == 200
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The answer came long before 200 MB were sent (socket buffers hold a few MB).
    assert sent < 40 * 1024 * 1024, sent
    assert after - before < 30 * 1024 * 1024, (before, after)


@pytest.mark.parametrize("depth", [5_000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/artists", "/api/v1/releases", "/api/v1/resolve"])
async def test_deeply_nested_json_is_a_clear_400(
    client: httpx.AsyncClient, owner: WorkspaceKey, depth: int, path: str
) -> None:
    # /releases parses its own body (the model depends on ?autofill): it used to 500 here.
    body = b'{"name": "x", "service_ids": ' + b"[" * depth + b"]" * depth + b"}"
    response = await client.post(
        path, content=body, headers={**owner.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "the JSON body is nested too deeply",
    }


async def test_a_body_that_is_not_utf8_is_a_clear_400(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    response = await client.post(
        "/api/v1/artists",
        content=b'{"name": "\xff\xfe"}',
        headers={**owner.headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the body is not valid UTF-8"


@pytest.mark.parametrize(
    "path", ["/healthz/", "/api/v1/links/", "/presave/", "/static/demo/", "/api//evil.example/"]
)
async def test_a_trailing_slash_redirect_never_names_a_foreign_host(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers={"host": "evil.example"})
    assert response.status_code == 308
    location = response.headers["location"]
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "evil.example" not in location or location == "/api//evil.example"


async def test_a_protocol_relative_looking_path_is_not_redirected(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("https://links.example.test//evil.example/")
    assert response.status_code == 404
    assert "location" not in response.headers


async def test_a_trailing_slash_redirect_keeps_the_query(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/links/?limit=5", headers={"host": "evil.example"})
    assert response.headers["location"] == "/api/v1/links?limit=5"


async def test_a_smart_link_with_a_trailing_slash_is_served_in_place(
    api: Api, owner: WorkspaceKey, client: httpx.AsyncClient
) -> None:
    await make_link(api, owner, slug="midnight")
    response = await client.get("/midnight/", headers={"host": "evil.example"})
    assert response.status_code == 404  # a foreign host has no links: no redirect either
    page = await client.get("/midnight/")
    assert page.status_code == 200
    assert "location" not in page.headers


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/static/nope.css", 404),
        ("GET", "/static/../../etc/passwd", 404),
        ("GET", "/static/%00", 404),
        ("GET", "/static/" + "a" * 5000, 404),
        ("POST", "/static/demo/lantern-light.svg", 405),
        ("DELETE", "/static/demo/lantern-light.svg", 405),
        ("PROPFIND", "/healthz", 405),
        ("TRACE", "/api/v1/artists", 405),
        ("PATCH", "/midnight", 405),
        ("BREW", "/", 405),  # / is the dashboard's door (GET, HEAD)
        ("GET", "/api/v1/nope", 404),
        ("GET", "/_sim/anything", 404),
        ("GET", "/%ff%fe", 404),
        ("GET", "/presave/%00/email", 404),
    ],
)
async def test_odd_methods_and_paths_get_a_4xx_never_a_500(
    client: httpx.AsyncClient, method: str, path: str, expected: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == expected, response.text[:300]


async def test_a_405_from_the_api_carries_an_allow_header(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    response = await client.request("PUT", "/api/v1/artists", headers=owner.headers)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    # Starlette names the methods of the first route matching the path only.
    assert response.headers["allow"] in ("GET", "POST")


async def test_the_body_limit_follows_its_setting(settings: Settings) -> None:
    small = settings.model_copy(update={"max_request_bytes": 2048})
    application = create_app(small)
    owner = await create_workspace_with_key(application.context.database, name="Small Records")
    transport = httpx.ASGITransport(app=application)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="https://links.example.test"
        ) as c:
            fits = await c.post("/api/v1/artists", json={"name": "n" * 150}, headers=owner.headers)
            too_big = await c.post(
                "/api/v1/artists", json={"name": "n" * 3000}, headers=owner.headers
            )
    finally:
        await application.shutdown()
    assert fits.status_code == 201
    assert too_big.status_code == 413
