"""Settings: webhooks delivered by the outbox to a real local receiver (signed, retried,
logged per endpoint), the workspace's own service apps (encrypted, shown masked), custom
domains with their ownership proof; only owners and admins reach them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from launchlink.app import Application
from launchlink.events import PresaveCreated, ReleaseLive, WebhookDue, emit
from launchlink.integrations.delivery import TargetRefused, WebhookSender, checked_address, refusal
from launchlink.kit.clock import FrozenClock
from launchlink.kit.ids import uuid7
from launchlink.models import ServiceCredential, WebhookAttempt, WebhookEndpoint
from launchlink.ops.doctor import run_checks
from tests.dashboard.conftest import Browser, Team


@dataclass
class Receiver:
    """A real HTTP server on loopback: records each POST, answers the queued statuses."""

    port: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()
        )
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    yield found
    server.close()
    await server.wait_closed()


async def _add_endpoint(who: Browser, w: UUID, url: str) -> str:
    await who.get(f"/dashboard/w/{w}/webhooks")
    created = await who.post(
        f"/dashboard/w/{w}/webhooks",
        {"url": url, "description": "CRM", "event:presave.created": "1", "event:message.*": "1"},
    )
    assert created.status_code == 200, created.text
    found = re.search(r'id="new-secret">(whsec_[^<]+)<', created.text)
    assert found
    return found.group(1)


async def _emit(app: Application, event: object) -> None:
    async with app.context.database.transaction() as session:
        await emit(session, event)  # type: ignore[arg-type]


def _presave_created(workspace_id: UUID, clock: FrozenClock) -> PresaveCreated:
    return PresaveCreated(
        occurred_at=clock.now(),
        workspace_id=workspace_id,
        presave_id=uuid7(),
        link_id=uuid7(),
        release_id=uuid7(),
        fan_id=uuid7(),
        service="spotify",
        mode="direct_save",
    )


async def test_a_subscribed_event_reaches_the_endpoint_signed_and_nothing_else_does(
    team: Team, dapp: Application, receiver: Receiver, clock: FrozenClock
) -> None:
    w = team.workspace_id
    secret = await _add_endpoint(team.owner, w, receiver.url)
    listing = await team.owner.get(f"/dashboard/w/{w}/webhooks")
    assert secret not in listing.text  # shown once
    outbox = dapp.context.outbox
    assert outbox is not None
    await outbox.run_once()  # the subscriber's first tick: it receives events from now on
    wanted = _presave_created(w, clock)
    await _emit(dapp, wanted)
    await _emit(dapp, ReleaseLive(occurred_at=clock.now(), workspace_id=w, release_id=uuid7()))
    await _emit(dapp, _presave_created(uuid7(), clock))  # another workspace's
    await outbox.drain()
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert headers["launchlink-event-id"] == str(wanted.id)
    assert headers["launchlink-event-type"] == "presave.created"
    stamp, mac = re.fullmatch(
        r"t=(\d+),v1=([0-9a-f]{64})", headers["launchlink-signature"]
    ).groups()  # type: ignore[union-attr]
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    assert int(stamp) == int(clock.now().timestamp())
    payload = json.loads(body)
    assert payload["type"] == "presave.created"
    assert payload["data"]["presave_id"] == str(wanted.presave_id)
    log = await team.owner.get(f"/dashboard/w/{w}/webhooks")
    assert "HTTP 200" in log.text


async def test_a_failing_endpoint_is_retried_from_the_outbox_and_the_log_shows_each_attempt(
    team: Team, dapp: Application, receiver: Receiver, clock: FrozenClock
) -> None:
    w = team.workspace_id
    await _add_endpoint(team.owner, w, receiver.url)
    outbox = dapp.context.outbox
    assert outbox is not None
    await outbox.run_once()
    receiver.statuses = [503]
    event = _presave_created(w, clock)
    await _emit(dapp, event)
    await outbox.drain()
    assert len(receiver.received) == 1
    clock.advance(timedelta(hours=1))  # past the outbox's backoff
    await outbox.drain()
    assert len(receiver.received) == 2
    assert receiver.received[1][0]["launchlink-event-id"] == str(event.id)
    await outbox.drain()
    assert len(receiver.received) == 2  # delivered once it succeeded, never again
    async with dapp.context.database.sessionmaker() as session:
        attempts = (
            (await session.execute(select(WebhookAttempt).order_by(WebhookAttempt.attempt)))
            .scalars()
            .all()
        )
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [(1, False, 503), (2, True, 200)]
    log = await team.owner.get(f"/dashboard/w/{w}/webhooks")
    assert "answered HTTP 503" in log.text


async def test_a_failing_endpoint_neither_delays_nor_re_sends_to_the_others(
    team: Team, dapp: Application, clock: FrozenClock
) -> None:
    w = team.workspace_id
    healthy, failing = Receiver(), Receiver()
    servers = [await asyncio.start_server(r.handle, "127.0.0.1", 0) for r in (healthy, failing)]
    healthy.port = servers[0].sockets[0].getsockname()[1]
    failing.port = servers[1].sockets[0].getsockname()[1]
    try:
        await _add_endpoint(team.owner, w, healthy.url)
        await _add_endpoint(team.owner, w, failing.url)
        outbox = dapp.context.outbox
        assert outbox is not None
        await outbox.run_once()
        failing.statuses = [503, 503, 503]
        first = _presave_created(w, clock)
        await _emit(dapp, first)
        await outbox.drain()
        assert [h["launchlink-event-id"] for h, _ in healthy.received] == [str(first.id)]
        assert len(failing.received) == 1
        # While the failing endpoint backs off, the next event reaches the healthy one now.
        second = _presave_created(w, clock)
        await _emit(dapp, second)
        await outbox.drain()
        assert [h["launchlink-event-id"] for h, _ in healthy.received] == [
            str(first.id),
            str(second.id),
        ]
        assert len(failing.received) == 1  # its own stream waits behind its failed head
        for _ in range(3):
            clock.advance(timedelta(hours=1))
            await outbox.drain()
        assert [h["launchlink-event-id"] for h, _ in failing.received] == [
            str(first.id),
            str(first.id),
            str(first.id),
            str(first.id),
            str(second.id),
        ]
        assert len(healthy.received) == 2  # the retries of the other never re-sent to it
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


@pytest.mark.parametrize(
    ("address", "allowed", "allowed_with_private"),
    [
        ("93.184.216.34", True, True),
        ("2606:2800:220:1:248:1893:25c8:1946", True, True),
        ("127.0.0.1", False, True),
        ("10.1.2.3", False, True),
        ("192.168.0.10", False, True),
        ("100.64.0.1", False, True),
        ("::1", False, True),
        ("fc00::1", False, True),
        ("169.254.10.1", False, False),
        ("169.254.169.254", False, False),
        ("fd00:ec2::254", False, False),
        ("100.100.100.200", False, False),
        ("fe80::1", False, False),
        ("224.0.0.251", False, False),
        ("ff02::1", False, False),
        ("0.0.0.0", False, False),  # noqa: S104 - an address to refuse
        ("::", False, False),
        ("240.0.0.1", False, False),
        ("::ffff:127.0.0.1", False, True),
        ("::ffff:169.254.169.254", False, False),
        ("::127.0.0.1", False, False),
        ("64:ff9b::a9fe:a9fe", False, False),
        ("64:ff9b::a00:1", False, False),
        ("2002:7f00:1::1", False, True),
        ("2002:5db8:d822::1", True, True),
    ],
)
def test_which_addresses_webhooks_may_reach(
    address: str, allowed: bool, allowed_with_private: bool
) -> None:
    ip = ipaddress.ip_address(address)
    assert (refusal(ip) is None) is allowed
    assert (refusal(ip, allow_private=True) is None) is allowed_with_private


async def test_a_name_that_resolves_to_any_private_address_is_refused() -> None:
    async def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(TargetRefused, match=r"resolves to 127\.0\.0\.1"):
        await checked_address("hooks.example.com", 443, allow_private=False, resolve=rebinding)
    assert (
        await checked_address("hooks.example.com", 443, allow_private=True, resolve=rebinding)
        == "93.184.216.34"
    )


async def _due_for(app: Application, w: UUID, url: str, clock: FrozenClock) -> WebhookDue:
    """An endpoint stored as it is (no URL rule at creation) and one event owed to it."""
    assert app.context.cipher is not None
    async with app.context.database.transaction() as session:
        endpoint = WebhookEndpoint(
            workspace_id=w,
            url=url,
            description="",
            event_types=["presave.created"],
            secret=app.context.cipher.encrypt("whsec_test"),
            enabled=True,
        )
        session.add(endpoint)
        await session.flush()
        endpoint_id = endpoint.id
    source = _presave_created(w, clock)
    return WebhookDue(
        occurred_at=source.occurred_at,
        workspace_id=w,
        endpoint_id=endpoint_id,
        source_id=source.id,
        source_type=source.type,
        data=source.payload(),
    )


async def test_a_private_target_is_refused_by_default_and_the_log_says_why(
    team: Team, dapp: Application, receiver: Receiver, clock: FrozenClock
) -> None:
    w = team.workspace_id
    assert dapp.context.cipher is not None
    sender = WebhookSender(
        database=dapp.context.database, cipher=dapp.context.cipher, clock=clock
    )  # webhooks_allow_private_targets off, as in a default install
    due = await _due_for(dapp, w, receiver.url, clock)
    with pytest.raises(Exception, match="loopback"):
        await sender.handle(due)
    assert receiver.received == []
    log = await team.owner.get(f"/dashboard/w/{w}/webhooks")
    assert "refused: 127.0.0.1 is a loopback address" in log.text


async def test_the_connection_goes_to_the_address_checked_without_a_second_lookup(
    team: Team, dapp: Application, receiver: Receiver, clock: FrozenClock
) -> None:
    w = team.workspace_id
    assert dapp.context.cipher is not None
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]  # the name exists only here: a second resolution would fail

    sender = WebhookSender(
        database=dapp.context.database,
        cipher=dapp.context.cipher,
        clock=clock,
        allow_private=True,
        resolve=resolve,
    )
    due = await _due_for(dapp, w, f"http://hooks.example.test:{receiver.port}/hook", clock)
    await sender.handle(due)
    assert lookups == ["hooks.example.test"]
    headers, _body = receiver.received[0]
    assert headers["host"] == f"hooks.example.test:{receiver.port}"
    # A redirect is a failed attempt, never followed.
    receiver.statuses = [302]
    again = await _due_for(dapp, w, f"http://hooks.example.test:{receiver.port}/hook", clock)
    with pytest.raises(Exception, match="HTTP 302"):
        await sender.handle(again)
    assert len(receiver.received) == 2


async def test_bad_endpoints_are_field_errors(team: Team) -> None:
    w = team.workspace_id
    await team.owner.get(f"/dashboard/w/{w}/webhooks")
    for url, events, field_name in (
        ("javascript:alert(1)", {"event:release.live": "1"}, "url"),
        ("http://crm.example.com/hook", {"event:release.live": "1"}, "url"),
        ("https://crm.example.com/hook", {}, "event_types"),
    ):
        response = await team.owner.post(f"/dashboard/w/{w}/webhooks", {"url": url, **events})
        assert response.status_code == 422, url
        assert f'id="e-{field_name}"' in response.text, url


async def test_a_service_app_is_stored_encrypted_and_shown_only_masked(
    team: Team, dapp: Application
) -> None:
    w = team.workspace_id
    page = await team.admin.get(f"/dashboard/w/{w}/service-apps")
    assert page.status_code == 200
    secret = "s3cr3t-label-app-0001"
    saved = await team.admin.post(
        f"/dashboard/w/{w}/service-apps",
        {"service": "spotify", "client_id": "label-app", "secret": secret},
    )
    assert saved.status_code == 303, saved.text
    page = await team.admin.get(saved.headers["location"])
    assert secret not in page.text
    assert "…0001" in page.text
    assert "the workspace&#39;s own app" in page.text
    async with dapp.context.database.sessionmaker() as session:
        row = (await session.execute(select(ServiceCredential))).scalar_one()
    assert secret.encode() not in row.secret
    assert dapp.context.cipher is not None
    assert dapp.context.cipher.decrypt(row.secret) == secret
    # The doctor says the workspace brought its own app (in use for its fans).
    findings = {f.area: f for f in await run_checks(dapp.context.settings)}
    assert (
        "1 workspace(s) brought their own spotify app" in findings["workspace apps spotify"].message
    )
    bad = await team.admin.post(
        f"/dashboard/w/{w}/service-apps",
        {"service": "apple_music", "client_id": "KEY123", "secret": "not a key", "team_id": ""},
    )
    assert bad.status_code == 422
    assert 'id="e-apple_music-secret"' in bad.text
    assert "not a key" not in bad.text
    removed = await team.admin.post(f"/dashboard/w/{w}/service-apps/spotify/remove", {})
    assert removed.status_code == 303


async def test_a_custom_domain_is_claimed_with_its_proof_and_bad_names_are_refused(
    team: Team,
) -> None:
    w = team.workspace_id
    await team.owner.get(f"/dashboard/w/{w}/domains")
    added = await team.owner.post(f"/dashboard/w/{w}/domains", {"hostname": "links.label.example"})
    assert added.status_code == 303, added.text
    page = await team.owner.get(added.headers["location"])
    assert "links.label.example" in page.text
    assert "pending" in page.text
    assert "_launchlink-challenge" in page.text or "TXT" in page.text
    for bad in ("not a host", "links.example.test", ""):
        response = await team.owner.post(f"/dashboard/w/{w}/domains", {"hostname": bad})
        assert response.status_code in (409, 422), bad
        assert 'id="e-hostname"' in response.text, bad


async def test_only_owners_and_admins_reach_the_integration_settings(team: Team) -> None:
    w = team.workspace_id
    for who in (team.editor, team.viewer):
        for page in ("webhooks", "service-apps", "domains"):
            assert (await who.get(f"/dashboard/w/{w}/{page}")).status_code == 403, page
        await who.get("/dashboard/account")
        for path, data in (
            (
                f"/dashboard/w/{w}/webhooks",
                {"url": "https://x.example/h", "event:release.live": "1"},
            ),
            (
                f"/dashboard/w/{w}/service-apps",
                {"service": "spotify", "client_id": "a", "secret": "b" * 9},
            ),
            (f"/dashboard/w/{w}/domains", {"hostname": "a.example.org"}),
        ):
            assert (await who.post(path, data)).status_code == 403, path
