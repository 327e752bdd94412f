"""Webhook deliveries: one outbox *effect* subscriber (``integrations.webhooks``) POSTs
each event to every endpoint of its workspace that wants it.

* **Signed**: ``Launchlink-Signature: t=<unix>,v1=<HMAC-SHA256("<t>.<body>")>`` under the
  endpoint's secret (``service.signature``), plus ``Launchlink-Event-Id`` (the idempotency
  key: the same event is the same id on every retry) and ``Launchlink-Event-Type``.
* **Retried from the outbox**: an endpoint that answers anything but 2xx, or does not
  answer within :data:`TIMEOUT_SECONDS`, makes the handler raise, so the outbox retries
  the event with its backoff and parks it after ``max_attempts``. Endpoints that already
  took the event are skipped on the retry (the log says so), so a healthy endpoint gets
  each event once even when another fails.
* **Logged**: every attempt is a ``webhook_attempt`` row, written in its own short
  transaction whatever happens next — the page's delivery log per endpoint.
* **Outbound safety**: no redirects followed, a bounded response read, and in production
  a host that resolves to a private, loopback or link-local address is refused (the URL
  is the workspace's to choose, our network is not).

A limit, honestly: the outbox keeps order per aggregate per subscriber, so while one
endpoint fails, later events *of the same aggregate* (the same release, say) wait for
every endpoint of this subscriber, not only for the failing one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from launchlink.db import Database
from launchlink.events import Event, Subscriptions, registry
from launchlink.integrations.repository import IntegrationsRepository
from launchlink.integrations.service import EVENT_CHOICES, SIGNATURE_HEADER, signature, wants
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.models import WebhookAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4096
SUBSCRIBER = "integrations.webhooks"
USER_AGENT = "launchlink-webhooks/1"


class WebhookFailed(Exception):
    """At least one endpoint did not take the event; the outbox retries it later."""


def body_of(event: Event) -> bytes:
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "workspace_id": str(event.workspace_id),
            "data": event.payload(),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


async def _public_host(host: str) -> None:
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError:
        raise ValueError(f"{host} does not resolve") from None
    for *_rest, address in found:
        if not ipaddress.ip_address(address[0]).is_global:
            raise ValueError(f"{host} resolves to a private address; webhooks go to the internet")


@dataclass
class WebhookSender:
    database: Database
    cipher: TokenCipher
    clock: Clock
    allow_private: bool = False
    """Development and tests: deliver to loopback and private hosts too."""
    transport: httpx.AsyncBaseTransport | None = None

    async def handle(self, event: Event) -> None:
        if event.workspace_id is None:
            return
        async with self.database.sessionmaker() as session:
            repository = IntegrationsRepository(session)
            targets = [
                e
                for e in await repository.endpoints(event.workspace_id)
                if e.enabled and wants(list(e.event_types), event.type)
            ]
            ids = [e.id for e in targets]
            done = await repository.delivered(event.id, ids)
            tried = await repository.attempts_so_far(event.id, ids)
            session.expunge_all()
        failures = []
        body = body_of(event)
        for endpoint in targets:
            if endpoint.id in done:
                continue
            attempt = await self._post(endpoint, event, body, tried.get(endpoint.id, 0) + 1)
            async with self.database.transaction() as session:
                await IntegrationsRepository(session).add(attempt)
            if not attempt.ok:
                failures.append(f"{urlsplit(endpoint.url).hostname}: {attempt.error}")
        if failures:
            raise WebhookFailed("; ".join(failures))

    async def _post(
        self, endpoint: WebhookEndpoint, event: Event, body: bytes, number: int
    ) -> WebhookAttempt:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            host = urlsplit(endpoint.url).hostname or ""
            if not self.allow_private:
                await _public_host(host)
            secret = self.cipher.decrypt(endpoint.secret)
            timestamp = int(self.clock.now().timestamp())
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                "launchlink-event-id": str(event.id),
                "launchlink-event-type": event.type,
            }
            async with (
                httpx.AsyncClient(
                    timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=self.transport
                ) as client,
                client.stream("POST", endpoint.url, content=body, headers=headers) as response,
            ):
                status = response.status_code
                read = 0
                async for chunk in response.aiter_bytes():
                    read += len(chunk)
                    if read > MAX_RESPONSE_BYTES:
                        break
            if not 200 <= status < 300:
                error = f"answered HTTP {status}"
        except ValueError as refused:
            error = str(refused)
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}"
        return WebhookAttempt(
            endpoint_id=endpoint.id,
            event_id=event.id,
            event_type=event.type,
            attempt=number,
            ok=error is None,
            status_code=status,
            error=error[:500] if error else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            at=self.clock.now(),
        )


def register(subscriptions: Subscriptions, sender: WebhookSender) -> None:
    """Subscribe the sender to every event type an endpoint can ask for."""
    for event_type in registry.types():
        if wants(list(EVENT_CHOICES), event_type):
            subscriptions.subscribe_effect(event_type, sender.handle, name=SUBSCRIBER)
