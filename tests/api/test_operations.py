"""Operating the service over HTTP: liveness, readiness, metrics, request ids, TLS asks."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import timedelta

import httpx
from sqlalchemy import text

from launchlink.analytics import service as analytics_service
from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.db import Database
from launchlink.events import FulfilmentServicePaused, emit
from launchlink.kit.clock import utc_now
from launchlink.ops.health import head_revisions
from launchlink.ops.logs import configure_logging
from launchlink.ops.settings import OpsSettings
from tests._services import REDIS_URL, service_missing, tcp_reachable
from tests.api.conftest import Api, FakeDns, make_link, verified_domain
from tests.builders import WorkspaceKey

HEALTH_JSON = "application/health+json"


async def test_healthz_says_the_process_is_alive_in_health_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == HEALTH_JSON
    assert response.json() == {"status": "pass"}


async def test_readyz_passes_on_a_migrated_database_with_a_quiet_outbox(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == HEALTH_JSON
    body = response.json()
    assert body["status"] == "pass"
    assert set(body["checks"]) == {"database:responseTime", "database:migrations", "outbox:lag"}
    assert body["checks"]["outbox:lag"][0]["observedValue"] == 0


async def test_readyz_fails_when_the_database_is_behind_this_code(
    client: httpx.AsyncClient, app_db: Database
) -> None:
    (head,) = head_revisions()
    async with app_db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = await client.get("/readyz")
    finally:
        # The PostgreSQL test database is shared by the session: put it back.
        async with app_db.transaction() as session:
            await session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
    assert response.status_code == 503
    check = response.json()["checks"]["database:migrations"][0]
    assert check["status"] == "fail"
    assert "launchlink migrate" in check["output"]


async def test_readyz_fails_when_an_event_waits_longer_than_the_lag_limit(
    client: httpx.AsyncClient, app_db: Database, settings: Settings
) -> None:
    limit = settings.ops.ready_outbox_lag_seconds
    async with app_db.transaction() as session:
        old = FulfilmentServicePaused(
            occurred_at=utc_now() - timedelta(seconds=limit + 60),
            workspace_id=None,
            service="spotify",
        )
        await emit(session, old)
    response = await client.get("/readyz")
    assert response.status_code == 503
    lag = response.json()["checks"]["outbox:lag"][0]
    assert lag["status"] == "fail"
    assert lag["observedValue"] > limit
    assert "dispatchers" in lag["output"]


async def test_readyz_checks_redis_when_it_is_configured(settings: Settings) -> None:
    if not tcp_reachable("127.0.0.1", 6379):
        service_missing("Redis", "nothing listens on 127.0.0.1:6379")
    for url, expected in ((REDIS_URL, 200), ("redis://127.0.0.1:1/0", 503)):
        app = create_app(settings.model_copy(update={"redis_url": url}))
        try:
            async with _client(app) as client:
                response = await client.get("/readyz")
        finally:
            await app.shutdown()
        assert response.status_code == expected, response.text
        assert "redis:responseTime" in response.json()["checks"]


async def test_metrics_count_requests_by_route_class_and_status(
    client: httpx.AsyncClient, api: Api, owner: WorkspaceKey
) -> None:
    ok_link = 'launchlink_http_requests_total{route="link",status="200"}'
    before = _sample(await _metrics(client), ok_link)
    await make_link(api, owner, slug="counted")
    assert (await client.get("/counted")).status_code == 200
    assert (await client.get("/no-such-link")).status_code == 404
    text_format = await _metrics(client)
    assert _sample(text_format, ok_link) == before + 1
    assert _sample(text_format, 'launchlink_http_requests_total{route="link",status="404"}') >= 1
    assert _sample(text_format, 'launchlink_http_requests_total{route="api",status="201"}') >= 1
    assert 'launchlink_http_request_duration_seconds_bucket{le="0.005",route="link"}' in (
        text_format
    )
    # Queue depths are read from the database at scrape time. Creating the link emitted
    # link.changed, which no dispatcher has taken yet in this app: the lag is a real age.
    lag = re.search(r"^launchlink_outbox_lag_seconds (\S+)$", text_format, re.MULTILINE)
    assert lag is not None
    assert float(lag.group(1)) >= 0


async def test_metrics_count_analytics_events_buffered_flushed_and_dropped(
    client: httpx.AsyncClient, app: Application, api: Api, owner: WorkspaceKey
) -> None:
    stage = 'launchlink_analytics_events_total{reason="%s",stage="%s"}'
    buffered, flushed = stage % ("", "buffered"), stage % ("", "flushed")
    full = stage % ("buffer_full", "dropped")
    before = await _metrics(client)
    await make_link(api, owner, slug="watched")
    assert app.analytics is not None
    capture = app.analytics.capture
    assert (await client.get("/watched")).status_code == 200
    assert (await client.get("/watched")).status_code == 200
    capture.max_buffered = len(capture)  # the buffer is full: the next visit is dropped
    assert (await client.get("/watched")).status_code == 200
    await app.analytics.flush()
    after = await _metrics(client)
    assert _sample(after, buffered) == _sample(before, buffered) + 2
    assert _sample(after, flushed) == _sample(before, flushed) + 2
    assert _sample(after, full) == _sample(before, full) + 1


async def test_metrics_report_the_analytics_inbox_backlog_rows_events_and_oldest_age(
    client: httpx.AsyncClient, app: Application
) -> None:
    gauge = r"^launchlink_analytics_inbox_%s (\S+)$"

    def read(text_format: str, name: str) -> float:
        found = re.search(gauge % name, text_format, re.MULTILINE)
        assert found is not None, text_format
        return float(found.group(1))

    empty = await _metrics(client)
    assert (read(empty, "rows"), read(empty, "events"), read(empty, "oldest_seconds")) == (0, 0, 0)
    now = utc_now()
    # Two web processes' flushes, the older one shipped five minutes ago.
    async with app.context.database.transaction(write_lock=True) as session:
        await analytics_service.ship(session, [(b"x", 700)], now=now - timedelta(minutes=5))
        await analytics_service.ship(session, [(b"y", 300), (b"z", 20)], now=now)
    waiting = await _metrics(client)
    assert read(waiting, "rows") == 3
    assert read(waiting, "events") == 1020
    assert 300 <= read(waiting, "oldest_seconds") < 300 + 120


async def test_metrics_answer_only_with_the_token_when_one_is_configured(
    settings: Settings,
) -> None:
    guarded = settings.model_copy(
        update={"ops": OpsSettings.model_validate({"metrics_token": "scrape-me-please"})}
    )
    app = create_app(guarded)
    try:
        async with _client(app) as client:
            assert (await client.get("/metrics")).status_code == 401
            wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
            right = await client.get(
                "/metrics", headers={"authorization": "Bearer scrape-me-please"}
            )
    finally:
        await app.shutdown()
    assert right.status_code == 200
    assert "launchlink_http_requests_total" in right.text


async def test_a_sane_request_id_is_kept_and_a_forged_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/healthz", headers={"x-request-id": "req-0123456789abcdef"})
    assert kept.headers["x-request-id"] == "req-0123456789abcdef"
    forged = await client.get("/healthz", headers={"x-request-id": "evil\tline injected here"})
    assert forged.headers["x-request-id"] != "evil\tline injected here"
    assert len(forged.headers["x-request-id"]) == 32
    fresh = await client.get("/healthz")
    assert fresh.headers["x-request-id"] != forged.headers["x-request-id"]


async def test_access_log_lines_are_json_with_the_request_id(settings: Settings) -> None:
    logged = io.StringIO()
    ops = OpsSettings(access_log=True, log_format="json")
    configure_logging(ops, stream=logged)
    app = create_app(settings.model_copy(update={"ops": ops}))
    try:
        async with _client(app) as client:
            response = await client.get("/healthz", headers={"x-request-id": "trace-12345678"})
    finally:
        await app.shutdown()
        logging.getLogger().handlers.clear()
    assert response.status_code == 200
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "launchlink.access"]
    assert access, logged.getvalue()
    assert access[-1]["request_id"] == "trace-12345678"
    assert access[-1]["status"] == 200
    assert access[-1]["message"] == "GET ops 200"


async def test_tls_is_allowed_only_for_verified_domains_and_our_own_host(
    client: httpx.AsyncClient, api: Api, dns: FakeDns, owner: WorkspaceKey
) -> None:
    await verified_domain(api, dns, owner, hostname="music.owner.test")
    claimed = await api.post(owner, "/domains", {"hostname": "claimed.owner.test"})
    assert claimed.status_code == 201

    async def ask(domain: str) -> int:
        response = await client.get("/_internal/tls-allowed", params={"domain": domain})
        return response.status_code

    assert await ask("music.owner.test") == 200
    assert await ask("MUSIC.owner.test.") == 200
    assert await ask("links.example.test") == 200
    assert await ask("claimed.owner.test") == 404  # claimed, ownership not proven
    assert await ask("elsewhere.test") == 404
    assert await ask("not a host") == 400
    assert (await client.get("/_internal/tls-allowed")).status_code == 400


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="https://links.example.test")


async def _metrics(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def _sample(text_format: str, prefix: str) -> float:
    total = 0.0
    for line in text_format.splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total
