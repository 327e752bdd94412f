"""Webhook deliveries through the outbox, one ordered stream per endpoint.

* **One stream per endpoint**: the session subscriber ``integrations.webhooks`` turns each
  event an endpoint wants into one :class:`~launchlink.events.WebhookDue` per endpoint, in
  the dispatcher's transaction (so exactly once). ``WebhookDue``'s aggregate is the
  endpoint, and the effect subscriber ``integrations.webhooks.endpoint`` POSTs it: the
  outbox keeps order, backoff, retries and parking per endpoint. A failing endpoint is
  retried alone (the others are never sent the event again), and a slow one holds up only
  its own later deliveries: streams run concurrently, so the others' POSTs leave at once
  (their "handled" marks are written at the end of the dispatcher's tick, after at most
  :data:`TIMEOUT_SECONDS`).
* **Signed**: ``Launchlink-Signature: t=<unix>,v1=<HMAC-SHA256("<t>.<body>")>`` under the
  endpoint's secret (``service.signature``), plus ``Launchlink-Event-Id`` (the idempotency
  key: the source event's id, the same on every retry) and ``Launchlink-Event-Type``.
* **Logged**: every attempt is a ``webhook_attempt`` row, written in its own short
  transaction whatever happens next — the page's delivery log per endpoint. An endpoint
  that already took an event is not sent it again (a re-delivered ``WebhookDue``).
* **Outbound safety (SSRF, DNS rebinding)**: the host is resolved at delivery time and
  refused when *any* of its addresses is private, loopback, link-local, multicast,
  reserved, unspecified or a cloud metadata address — IPv4 and IPv6 alike, with the IPv4
  inside mapped, compatible, 6to4, Teredo and NAT64 forms checked too. The connection goes
  to the address that was checked (the URL's host is replaced by it; ``Host`` and TLS SNI
  keep the name, so the certificate is still verified against it): nothing resolves the
  name a second time. No redirects are followed (a 3xx is a failed attempt) and the
  response read is bounded. ``webhooks_allow_private_targets`` (off by default) lets
  private and loopback targets through for self-hosted receivers; link-local, multicast
  and metadata addresses stay refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database
from launchlink.events import Event, Subscriptions, WebhookDue, emit_many, registry
from launchlink.integrations.repository import IntegrationsRepository
from launchlink.integrations.service import EVENT_CHOICES, SIGNATURE_HEADER, signature, wants
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.models import WebhookAttempt, WebhookEndpoint

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4096
SUBSCRIBER = "integrations.webhooks"
"""Session subscriber: one ``webhook.due`` per endpoint that wants the event."""
ENDPOINT_SUBSCRIBER = "integrations.webhooks.endpoint"
"""Effect subscriber: POSTs one ``webhook.due`` (its stream is the endpoint)."""
USER_AGENT = "launchlink-webhooks/1"

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")

Resolve = Callable[[str, int], Awaitable[list[str]]]


class WebhookFailed(Exception):
    """The endpoint did not take the event; the outbox retries this endpoint's delivery."""


class TargetRefused(ValueError):
    """The webhook's host is, or resolves to, an address webhooks may not reach."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (compatible, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def refusal(ip: IP, *, allow_private: bool = False) -> str | None:
    """Why webhooks may not reach ``ip`` (None: they may)."""
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the IPv4 address itself, written as IPv6
            return refusal(ip.ipv4_mapped, allow_private=allow_private)
        for inner in _embedded_ipv4(ip):
            why = refusal(inner, allow_private=allow_private)
            if why is not None:
                return f"{why} (inside {ip})"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_loopback:
        return None if allow_private else "a loopback address"
    if ip.is_reserved:
        return "a reserved address"
    if allow_private:
        return None
    if not ip.is_global:
        return "a private address"
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


async def checked_address(
    host: str, port: int, *, allow_private: bool, resolve: Resolve = system_resolve
) -> str:
    """The one address to connect to: ``host`` resolved once, every address checked."""
    try:
        literal: IP | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IP] = [literal]
    else:
        try:
            found = await resolve(host, port)
        except OSError:
            raise TargetRefused(f"{host} does not resolve") from None
        addresses = []
        for text in found:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise TargetRefused(f"{host} does not resolve")
    for ip in addresses:
        why = refusal(ip, allow_private=allow_private)
        if why is not None:
            shown = host if literal is not None else f"{host} resolves to {ip}, which"
            raise TargetRefused(f"refused: {shown} is {why}; webhooks go to the internet")
    return str(addresses[0])


def body_of(due: WebhookDue) -> bytes:
    return json.dumps(
        {
            "id": str(due.source_id),
            "type": due.source_type,
            "occurred_at": due.occurred_at.isoformat(),
            "workspace_id": str(due.workspace_id),
            "data": due.data,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


@dataclass
class WebhookSender:
    database: Database
    cipher: TokenCipher
    clock: Clock
    allow_private: bool = False
    """``webhooks_allow_private_targets``: self-hosted receivers on private addresses."""
    transport: httpx.AsyncBaseTransport | None = None
    resolve: Resolve = field(default=system_resolve)
    """How a host is resolved (once per attempt); tests pass a fixed table."""

    async def fan_out(self, session: AsyncSession, event: Event) -> None:
        """One ``webhook.due`` per endpoint of the workspace that wants ``event``."""
        if event.workspace_id is None:
            return
        targets = [
            e
            for e in await IntegrationsRepository(session).endpoints(event.workspace_id)
            if e.enabled and wants(list(e.event_types), event.type)
        ]
        await emit_many(
            session,
            (
                WebhookDue(
                    occurred_at=event.occurred_at,
                    workspace_id=event.workspace_id,
                    endpoint_id=endpoint.id,
                    source_id=event.id,
                    source_type=event.type,
                    data=event.payload(),
                )
                for endpoint in targets
            ),
        )

    async def handle(self, due: WebhookDue) -> None:
        """POST one event to one endpoint; raise (the outbox retries it) unless it took it."""
        if due.workspace_id is None:
            return
        async with self.database.sessionmaker() as session:
            repository = IntegrationsRepository(session)
            endpoint = await repository.endpoint(due.workspace_id, due.endpoint_id)
            if endpoint is None or not endpoint.enabled:
                return  # deleted or switched off since: nothing is owed any more
            if await repository.delivered(due.source_id, [endpoint.id]):
                return
            tried = await repository.attempts_so_far(due.source_id, [endpoint.id])
            session.expunge_all()
        attempt = await self._post(endpoint, due, body_of(due), tried.get(endpoint.id, 0) + 1)
        async with self.database.transaction() as session:
            await IntegrationsRepository(session).add(attempt)
        if not attempt.ok:
            raise WebhookFailed(f"{urlsplit(endpoint.url).hostname}: {attempt.error}")

    async def _post(
        self, endpoint: WebhookEndpoint, due: WebhookDue, body: bytes, number: int
    ) -> WebhookAttempt:
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            url = httpx.URL(endpoint.url)
            host = url.host
            port = url.port or (443 if url.scheme == "https" else 80)
            address = await checked_address(
                host, port, allow_private=self.allow_private, resolve=self.resolve
            )
            secret = self.cipher.decrypt(endpoint.secret)
            timestamp = int(self.clock.now().timestamp())
            headers = {
                # The name, while the connection goes to the checked address.
                "host": url.netloc.decode("ascii"),
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                "launchlink-event-id": str(due.source_id),
                "launchlink-event-type": due.source_type,
            }
            async with httpx.AsyncClient(
                timeout=TIMEOUT_SECONDS, follow_redirects=False, transport=self.transport
            ) as client:
                request = client.build_request(
                    "POST",
                    url.copy_with(host=address),
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": host} if url.scheme == "https" else {},
                )
                response = await client.send(request, stream=True)
                try:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_bytes():
                        read += len(chunk)
                        if read > MAX_RESPONSE_BYTES:
                            break
                finally:
                    await response.aclose()
            if not 200 <= status < 300:
                error = f"answered HTTP {status}"
                if response.is_redirect:
                    error += " (a redirect: not followed)"
        except TargetRefused as refused:
            error = str(refused)
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}"
        return WebhookAttempt(
            endpoint_id=endpoint.id,
            event_id=due.source_id,
            event_type=due.source_type,
            attempt=number,
            ok=error is None,
            status_code=status,
            error=error[:500] if error else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            at=self.clock.now(),
        )


def register(subscriptions: Subscriptions, sender: WebhookSender) -> None:
    """Fan every event type an endpoint can ask for out per endpoint, and deliver those."""
    for event_type in registry.types():
        if wants(list(EVENT_CHOICES), event_type):
            subscriptions.subscribe(event_type, sender.fan_out, name=SUBSCRIBER)
    subscriptions.subscribe_effect(WebhookDue, sender.handle, name=ENDPOINT_SUBSCRIBER)
