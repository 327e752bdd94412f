"""ServiceHttp: the SSRF guard, bounded retries of transient failures only, redaction."""

from __future__ import annotations

import logging

import httpx
import pytest

from launchlink.connectors.errors import ForeignHostRefused, Transient
from launchlink.connectors.http import (
    ServiceHttp,
    json_body,
    parse_retry_after,
    redact_url,
    scrub,
)

SECRET_TOKEN = "tok-SECRET-0123456789"


class CountingServer:
    """A tiny in-memory HTTP server: answers with ``status`` and counts the requests."""

    def __init__(self, status: int = 200, *, fail_with: Exception | None = None) -> None:
        self.status = status
        self.fail_with = fail_with
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        return httpx.Response(self.status, json={"ok": self.status < 400})


def make_http(server: CountingServer, *, max_retries: int = 2) -> tuple[ServiceHttp, list[float]]:
    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    http = ServiceHttp(
        service="demo",
        base_urls=["https://api.example.test/v1", "https://auth.example.test"],
        timeout_seconds=2,
        max_retries=max_retries,
        transport=httpx.MockTransport(server),
        sleep=no_sleep,
    )
    return http, delays


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.test/v1/me",
        "http://api.example.test/v1/me",  # same host, other scheme/port
        "https://api.example.test:8443/v1/me",
        "https://api.example.test@evil.example.test/v1/me",
        "file:///etc/passwd",
        "https://169.254.169.254/latest/meta-data",
    ],
)
async def test_the_ssrf_guard_refuses_foreign_hosts_before_sending(url: str) -> None:
    server = CountingServer()
    http, _ = make_http(server)
    with pytest.raises(ForeignHostRefused):
        await http.request("GET", url, retry_safe=True)
    assert server.requests == []


async def test_configured_hosts_are_reachable() -> None:
    server = CountingServer()
    http, _ = make_http(server)
    response = await http.request("GET", "https://auth.example.test/token", retry_safe=True)
    assert response.status_code == 200
    assert len(server.requests) == 1


async def test_transient_5xx_is_retried_up_to_the_bound_then_returned() -> None:
    server = CountingServer(503)
    http, delays = make_http(server, max_retries=2)
    response = await http.request("GET", "https://api.example.test/v1/x", retry_safe=True)
    assert response.status_code == 503
    assert len(server.requests) == 3
    assert len(delays) == 2
    assert all(0 <= delay <= 2.0 for delay in delays)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429])
async def test_4xx_is_never_retried(status: int) -> None:
    server = CountingServer(status)
    http, delays = make_http(server, max_retries=3)
    response = await http.request("GET", "https://api.example.test/v1/x", retry_safe=True)
    assert response.status_code == status
    assert len(server.requests) == 1
    assert delays == []


async def test_a_non_idempotent_write_is_not_retried_on_5xx() -> None:
    server = CountingServer(502)
    http, _ = make_http(server, max_retries=3)
    await http.request("POST", "https://api.example.test/v1/playlists", retry_safe=False)
    assert len(server.requests) == 1


async def test_connection_errors_become_transient_after_the_bound() -> None:
    server = CountingServer(fail_with=httpx.ConnectError("connection refused"))
    http, _ = make_http(server, max_retries=1)
    with pytest.raises(Transient):
        await http.request("GET", "https://api.example.test/v1/x", retry_safe=True)
    assert len(server.requests) == 2


async def test_a_timeout_on_a_write_surfaces_without_a_replay() -> None:
    server = CountingServer(fail_with=httpx.ReadTimeout("read timed out"))
    http, _ = make_http(server, max_retries=3)
    with pytest.raises(Transient):
        await http.request("POST", "https://api.example.test/v1/items", retry_safe=False)
    assert len(server.requests) == 1


async def test_transient_bodies_are_retried_when_the_service_says_so() -> None:
    server = CountingServer(200)
    http, _ = make_http(server, max_retries=2)
    await http.request(
        "GET", "https://api.example.test/v1/x", retry_safe=True, transient_body=lambda r: True
    )
    assert len(server.requests) == 3


async def test_tokens_in_query_strings_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = CountingServer(503)
    http, _ = make_http(server, max_retries=1)
    await http.request(
        "GET",
        "https://api.example.test/v1/user/me",
        params={"access_token": SECRET_TOKEN},
        retry_safe=True,
    )
    assert server.requests, "the request was sent"
    assert SECRET_TOKEN in str(server.requests[0].url), "the service still gets the token"
    assert caplog.records, "requests were logged"
    for record in caplog.records:
        assert SECRET_TOKEN not in record.getMessage()


def test_redact_url_hides_every_sensitive_parameter() -> None:
    url = f"https://x.test/p?access_token={SECRET_TOKEN}&code=abc123456&id=7&secret=s3cr3t-value"
    redacted = redact_url(url)
    assert SECRET_TOKEN not in redacted
    assert "abc123456" not in redacted
    assert "s3cr3t-value" not in redacted
    assert "id=7" in redacted


def test_scrub_removes_known_secret_values() -> None:
    assert scrub(f"bad token {SECRET_TOKEN}!", [SECRET_TOKEN, None]) == "bad token ***!"


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("5", 5.0), ("86400", 86400.0), ("79892", 79892.0), ("x", None)],
)
def test_retry_after_is_kept_as_given(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_retry_after_accepts_an_http_date() -> None:
    now = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0


def test_json_body_is_lenient() -> None:
    assert json_body(httpx.Response(200, content=b"not json")) is None
    assert json_body(httpx.Response(200, content=b"")) is None
    assert json_body(httpx.Response(200, json=[1])) == [1]
