"""Webhook endpoints and service credentials: the rules. Never commits.

Secrets (a webhook's signing secret, a service app's client secret) are encrypted with
the token cipher before they are stored and shown at most once, when they are made;
afterwards only a hint of the last characters is shown. Every change is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.accounts import audit
from launchlink.accounts.audit import Actor
from launchlink.errors import NotFound, ValidationFailed
from launchlink.integrations.repository import IntegrationsRepository
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.kit.urls import UrlRefused, check_url
from launchlink.models import ServiceCredential, WebhookAttempt, WebhookEndpoint

EVENT_CHOICES = ("presave.created", "release.live", "fulfilment.completed", "message.*")
"""What an endpoint may subscribe to; ``message.*`` is every message event."""
MAX_ENDPOINTS = 20
LOG_SHOWN = 20
SIGNATURE_HEADER = "launchlink-signature"
"""``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint's secret>``:
the time is signed too, so a receiver can refuse a replayed delivery (we suggest 5 min)."""

CREDENTIAL_SERVICES = {
    "spotify": ("Client ID", "Client secret", ()),
    "deezer": ("Application ID", "Secret key", ()),
    "tidal": ("Client ID", "Client secret", ()),
    "apple_music": ("Key ID", "Private key (.p8, PEM)", ("team_id",)),
}
"""The services a workspace may bring its own app for: what each calls its two values,
and the extra, non-secret identifiers it needs."""


def wants(event_types: list[str], event_type: str) -> bool:
    for wanted in event_types:
        if wanted == event_type or (wanted.endswith(".*") and event_type.startswith(wanted[:-1])):
            return True
    return False


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _check_endpoint_url(url: str) -> str:
    try:
        checked = check_url(url)
    except UrlRefused as error:
        raise ValidationFailed(str(error), field="url") from None
    return checked


@dataclass(frozen=True)
class EndpointView:
    endpoint: WebhookEndpoint
    attempts: list[WebhookAttempt]


async def endpoints(session: AsyncSession, workspace_id: UUID) -> list[EndpointView]:
    repository = IntegrationsRepository(session)
    found = await repository.endpoints(workspace_id)
    logs = await repository.recent_attempts([e.id for e in found], per_endpoint=LOG_SHOWN)
    return [EndpointView(e, logs.get(e.id, [])) for e in found]


async def create_endpoint(
    session: AsyncSession,
    actor: Actor,
    *,
    url: str,
    event_types: list[str],
    description: str,
    cipher: TokenCipher,
    clock: Clock,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once, stored encrypted)."""
    checked = _check_endpoint_url(url)
    unknown = [t for t in event_types if t not in EVENT_CHOICES]
    if unknown or not event_types:
        raise ValidationFailed(
            f"choose at least one of {', '.join(EVENT_CHOICES)}", field="event_types"
        )
    repository = IntegrationsRepository(session)
    if len(await repository.endpoints(actor.workspace_id)) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"a workspace has at most {MAX_ENDPOINTS} endpoints", field="url")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        workspace_id=actor.workspace_id,
        url=checked,
        description=description,
        event_types=sorted(set(event_types)),
        secret=cipher.encrypt(secret),
        enabled=True,
    )
    await repository.add(endpoint)
    await audit.record(
        session,
        actor,
        "webhook.created",
        ("webhook_endpoint", endpoint.id),
        after={"url": checked, "event_types": endpoint.event_types},
        clock=clock,
    )
    return endpoint, secret


async def delete_endpoint(
    session: AsyncSession, actor: Actor, endpoint_id: UUID, *, clock: Clock
) -> None:
    repository = IntegrationsRepository(session)
    endpoint = await repository.endpoint(actor.workspace_id, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint in this workspace")
    before = {"url": endpoint.url, "event_types": endpoint.event_types}
    await repository.delete_endpoint(endpoint)
    await audit.record(
        session, actor, "webhook.deleted", ("webhook_endpoint", endpoint_id), before=before,
        clock=clock,
    )  # fmt: skip


# -- service credentials --------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialView:
    service: str
    client_id: str
    secret_hint: str
    extra: dict[str, str]
    updated_at: object
    rejected_reason: str | None = None
    """The service refused the app (a configuration error until it is replaced)."""


async def credentials(session: AsyncSession, workspace_id: UUID) -> list[CredentialView]:
    return [
        CredentialView(
            c.service,
            c.client_id,
            c.secret_hint,
            dict(c.extra),
            c.updated_at,
            c.rejected_reason,
        )
        for c in await IntegrationsRepository(session).credentials(workspace_id)
    ]


def _check_secret(service: str, secret: str) -> str:
    secret = secret.strip()
    if service == "apple_music":
        if "-----BEGIN PRIVATE KEY-----" not in secret or "-----END PRIVATE KEY-----" not in secret:
            raise ValidationFailed(
                "paste the whole .p8 key, from -----BEGIN PRIVATE KEY----- to the END line",
                field="secret",
            )
    elif len(secret) < 8 or any(c.isspace() for c in secret):
        raise ValidationFailed("the secret is at least 8 characters without spaces", field="secret")
    return secret


async def set_credential(
    session: AsyncSession,
    actor: Actor,
    *,
    service: str,
    client_id: str,
    secret: str,
    extra: dict[str, str],
    cipher: TokenCipher,
    clock: Clock,
) -> None:
    """Store (or replace) the workspace's app on ``service``; the secret is encrypted."""
    if service not in CREDENTIAL_SERVICES:
        raise ValidationFailed(
            f"bring an app for one of {', '.join(CREDENTIAL_SERVICES)}", field="service"
        )
    client_id = client_id.strip()
    if not client_id or len(client_id) > 200 or any(c.isspace() for c in client_id):
        raise ValidationFailed("enter the identifier the service gave your app", field="client_id")
    checked = _check_secret(service, secret)
    needed = CREDENTIAL_SERVICES[service][2]
    kept = {name: extra.get(name, "").strip() for name in needed}
    for name, value in kept.items():
        if not value:
            raise ValidationFailed(f"{service} also needs the {name.replace('_', ' ')}", field=name)
    repository = IntegrationsRepository(session)
    row = await repository.credential(actor.workspace_id, service)
    replaced = row is not None
    # A PEM's last characters are its END line: the hint comes from the key itself.
    body = "".join(line for line in checked.splitlines() if not line.startswith("-----"))
    sealed, hint = cipher.encrypt(checked), body.strip()[-4:]
    if row is None:
        await repository.add(
            ServiceCredential(
                workspace_id=actor.workspace_id,
                service=service,
                client_id=client_id,
                secret=sealed,
                secret_hint=hint,
                extra=kept,
            )
        )
    else:
        row.client_id, row.secret, row.secret_hint, row.extra = client_id, sealed, hint, kept
        row.rejected_reason, row.rejected_at = None, None  # new credentials: try them again
        row.updated_at = clock.now()
        await session.flush()
    await audit.record(
        session,
        actor,
        "service_credential.replaced" if replaced else "service_credential.added",
        ("service_credential", service),
        after={"client_id": client_id, **kept},
        clock=clock,
    )


async def delete_credential(
    session: AsyncSession, actor: Actor, service: str, *, clock: Clock
) -> None:
    repository = IntegrationsRepository(session)
    row = await repository.credential(actor.workspace_id, service)
    if row is None:
        raise NotFound("this workspace has no app of its own on that service")
    await repository.delete_credential(row)
    await audit.record(
        session,
        actor,
        "service_credential.removed",
        ("service_credential", service),
        before={"client_id": row.client_id},
        clock=clock,
    )


async def grants_of_other_apps(
    session: AsyncSession, workspace_id: UUID, service: str, current: str | None
) -> int:
    """Fans' live grants on ``service`` issued to an app other than ``current`` (the one in
    force): after the workspace changed or removed its own app, they need to sign in again
    (fulfilment says so, ``needs_reauth``). Grants from before apps were recorded count as
    the instance's."""
    return await IntegrationsRepository(session).grants_of_other_apps(
        workspace_id, service, current
    )
