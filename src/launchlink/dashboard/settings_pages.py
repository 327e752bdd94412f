"""Settings pages beyond members and keys: webhooks (with each endpoint's delivery log),
the workspace's own service apps, and custom domains with their ownership proof. All of
them are for owners and admins (``Need.manage``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from launchlink.connectors.registry import app_client_id
from launchlink.dashboard.kit import (
    CsrfForm,
    CurrentClock,
    Member,
    Need,
    form_page,
    member,
    nav,
    see_other,
    workspace_url,
)
from launchlink.dependencies import Session, get_context
from launchlink.errors import LaunchlinkError, ValidationFailed
from launchlink.integrations import service as integrations
from launchlink.kit.crypto import TokenCipher
from launchlink.links import service as links
from launchlink.links.domains import default_prover, dns_name, expected_value, http_url
from launchlink.links.schemas import CustomDomainCreate
from launchlink.models import CustomDomain
from launchlink.models.links import DomainProof

router = APIRouter()

NOTICES = {
    "webhook_deleted": "Endpoint deleted.",
    "app_saved": "Saved. The secret is stored encrypted and will not be shown again.",
    "app_removed": "The workspace's own app was removed.",
    "domain_added": "Domain claimed: publish the proof below, then check it.",
    "domain_verified": "Ownership proven: the domain serves your links.",
}
SERVICE_NAMES = {
    "spotify": "Spotify",
    "apple_music": "Apple Music",
    "deezer": "Deezer",
    "tidal": "TIDAL",
}


def _cipher(request: Request) -> TokenCipher:
    cipher = get_context(request).cipher
    if cipher is None:
        raise LaunchlinkError("this instance has no encryption key configured")
    return cipher


# -- webhooks -------------------------------------------------------------------------------


async def _webhooks_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    secret: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return form_page(
        request,
        "dashboard/webhooks.html",
        {
            **nav(m, "webhooks"),
            "endpoints": await integrations.endpoints(session, m.workspace.id),
            "choices": integrations.EVENT_CHOICES,
            "secret": secret,
        },
        status=status,
        errors=errors,
        values=values,
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/webhooks")
async def webhooks(
    request: Request, session: Session, m: Annotated[Member, member(Need.manage)]
) -> Response:
    return await _webhooks_page(request, session, m)


@router.post("/w/{workspace_id}/webhooks")
async def create_webhook(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    chosen = [t for t in integrations.EVENT_CHOICES if form.get(f"event:{t}")]
    description = form.get("description", "").strip()
    errors: dict[str, str] = {}
    if len(description) > 200:
        errors["description"] = "at most 200 characters"
    if not errors:
        try:
            _endpoint, secret = await integrations.create_endpoint(
                session,
                m.actor,
                url=form.get("url", "").strip(),
                event_types=chosen,
                description=description,
                cipher=_cipher(request),
                clock=clock,
            )
            # Rendered, not redirected: the secret exists only in this one response.
            return await _webhooks_page(request, session, m, secret=secret)
        except ValidationFailed as error:
            await session.rollback()
            errors[error.field or "url"] = error.message
    return await _webhooks_page(request, session, m, status=422, errors=errors, values=form)


@router.post("/w/{workspace_id}/webhooks/{endpoint_id}/delete")
async def delete_webhook(
    endpoint_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    await integrations.delete_endpoint(session, m.actor, endpoint_id, clock=clock)
    return see_other(workspace_url(m, "/webhooks?done=webhook_deleted"))


# -- service apps ---------------------------------------------------------------------------


async def _apps_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    own = {c.service: c for c in await integrations.credentials(session, m.workspace.id)}
    connectors = get_context(request).connectors
    rows = []
    for service, name in SERVICE_NAMES.items():
        instance = connectors.get(service) if connectors is not None else None
        current = own[service].client_id if service in own else app_client_id(instance)
        stale = await integrations.grants_of_other_apps(session, m.workspace.id, service, current)
        if service in own and own[service].rejected_reason:
            in_force = (
                "none: the workspace's own app was refused by the service "
                f"({own[service].rejected_reason}); replace it. Not offered to fans until then"
            )
        elif service in own:
            in_force = "the workspace's own app"
        elif instance is not None and instance.available:
            in_force = "the instance's app (set by the operator)"
        else:
            reason = instance.unavailable_reason if instance is not None else None
            in_force = f"none: {reason}" if reason else "none"
        labels = integrations.CREDENTIAL_SERVICES[service]
        rows.append(
            {
                "service": service,
                "name": name,
                "own": own.get(service),
                "in_force": in_force,
                "stale": stale,
                "id_label": labels[0],
                "secret_label": labels[1],
                "extra": labels[2],
            }
        )
    return form_page(
        request,
        "dashboard/service_apps.html",
        {
            **nav(m, "service_apps"),
            "rows": rows,
        },
        status=status,
        errors=errors,
        values=values,
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/service-apps")
async def service_apps(
    request: Request, session: Session, m: Annotated[Member, member(Need.manage)]
) -> Response:
    return await _apps_page(request, session, m)


@router.post("/w/{workspace_id}/service-apps")
async def save_service_app(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    service = form.get("service", "")
    try:
        await integrations.set_credential(
            session,
            m.actor,
            service=service,
            client_id=form.get("client_id", ""),
            secret=form.get("secret", ""),
            extra={"team_id": form.get("team_id", "")},
            cipher=_cipher(request),
            clock=clock,
        )
    except ValidationFailed as error:
        await session.rollback()
        # The secret is never echoed back into the form.
        values = {k: v for k, v in form.items() if k != "secret"}
        return await _apps_page(
            request,
            session,
            m,
            status=422,
            errors={f"{service}:{error.field or 'client_id'}": error.message},
            values=values,
        )
    _forget_apps(request, m.workspace.id)
    return see_other(workspace_url(m, "/service-apps?done=app_saved"))


def _forget_apps(request: Request, workspace_id: UUID) -> None:
    """This process uses the changed apps at once (others within their cache's seconds)."""
    apps = get_context(request).apps
    if apps is not None:
        apps.forget(workspace_id)


@router.post("/w/{workspace_id}/service-apps/{service}/remove")
async def remove_service_app(
    request: Request,
    service: str,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    await integrations.delete_credential(session, m.actor, service, clock=clock)
    _forget_apps(request, m.workspace.id)
    return see_other(workspace_url(m, "/service-apps?done=app_removed"))


# -- custom domains -------------------------------------------------------------------------


def _domain_rows(entries: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        verified = isinstance(entry, CustomDomain)
        row: dict[str, Any] = {"id": entry.id, "hostname": entry.hostname, "verified": verified}
        if not verified:
            token = entry.verification_token
            row |= {
                "dns_name": dns_name(entry.hostname),
                "value": expected_value(token),
                "http_url": http_url(entry.hostname, token),
            }
        else:
            row["verified_at"] = entry.verified_at
        rows.append(row)
    return rows


async def _domains_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return form_page(
        request,
        "dashboard/domains.html",
        {
            **nav(m, "domains"),
            "domains": _domain_rows(await links.list_custom_domains(session, m.workspace.id)),
        },
        status=status,
        errors=errors,
        values=values,
        notices=NOTICES,
    )


@router.get("/w/{workspace_id}/domains")
async def domains(
    request: Request, session: Session, m: Annotated[Member, member(Need.manage)]
) -> Response:
    return await _domains_page(request, session, m)


@router.post("/w/{workspace_id}/domains")
async def add_domain(
    request: Request,
    form: CsrfForm,
    session: Session,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    own_host = urlsplit(get_context(request).settings.public_url).hostname or ""
    try:
        data = CustomDomainCreate.model_validate({"hostname": form.get("hostname", "")})
        await links.create_custom_domain(session, m.workspace.id, data, own_host=own_host)
    except ValidationError as error:
        message = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        return await _domains_page(
            request, session, m, status=422, errors={"hostname": message}, values=form
        )
    except LaunchlinkError as error:
        await session.rollback()
        return await _domains_page(
            request,
            session,
            m,
            status=error.status_code if error.status_code != 500 else 422,
            errors={"hostname": error.message},
            values=form,
        )
    return see_other(workspace_url(m, "/domains?done=domain_added"))


@router.post("/w/{workspace_id}/domains/{domain_id}/verify")
async def verify_domain(
    request: Request,
    domain_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    context = get_context(request)
    if context.domain_prover is None:
        context.domain_prover = default_prover(context.settings.dns_resolver)
    try:
        await links.verify_custom_domain(
            session,
            m.workspace.id,
            domain_id,
            context.domain_prover,
            methods=[DomainProof.dns, DomainProof.http],
            clock=clock,
        )
    except LaunchlinkError as error:
        if error.status_code == 404:
            raise
        await session.rollback()
        return await _domains_page(
            request, session, m, status=error.status_code, errors={str(domain_id): error.message}
        )
    return see_other(workspace_url(m, "/domains?done=domain_verified"))
