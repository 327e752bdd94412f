from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, WritingPrincipal, get_context
from launchlink.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT
from launchlink.links import service
from launchlink.links.domains import (
    OwnershipProver,
    default_prover,
    dns_name,
    expected_value,
    http_url,
)
from launchlink.links.schemas import (
    CustomDomainCreate,
    CustomDomainRead,
    CustomDomainUpdate,
    DestinationCreate,
    DestinationOrder,
    DestinationRead,
    DestinationUpdate,
    DomainVerificationRead,
    DomainVerify,
    LinkCreate,
    LinkPage,
    LinkRead,
    LinkUpdate,
)
from launchlink.models import CustomDomain, Link
from launchlink.models.links import DomainProof

router = APIRouter(tags=["links"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Context = Annotated[AppContext, Depends(get_context)]


def domain_prover(context: Context) -> OwnershipProver:
    if context.domain_prover is None:
        context.domain_prover = default_prover(context.settings.dns_resolver)
    return context.domain_prover


Prover = Annotated[OwnershipProver, Depends(domain_prover)]


def domain_read(entry: service.DomainEntry) -> CustomDomainRead:
    if isinstance(entry, CustomDomain):
        return CustomDomainRead(
            id=entry.id,
            hostname=entry.hostname,
            status="verified",
            root_link_id=entry.root_link_id,
            verification=None,
            verified_at=entry.verified_at,
            verified_by=entry.verified_by.value if entry.verified_by is not None else None,
            created_at=entry.created_at,
        )
    token = entry.verification_token
    return CustomDomainRead(
        id=entry.id,
        hostname=entry.hostname,
        status="pending",
        root_link_id=None,
        verification=DomainVerificationRead(
            dns_name=dns_name(entry.hostname),
            dns_value=expected_value(token),
            http_url=http_url(entry.hostname, token),
            http_body=expected_value(token),
        ),
        verified_at=None,
        verified_by=None,
        created_at=entry.created_at,
    )


def link_read(link: Link, context: AppContext) -> LinkRead:
    return LinkRead(
        id=link.id,
        release_id=link.release_id,
        slug=link.slug,
        custom_domain=link.host or None,
        url=service.public_url_of(link, public_base_url=context.settings.public_url),
        version=link.version,
        destinations=[DestinationRead.model_validate(d) for d in link.destinations],
        created_at=link.created_at,
        updated_at=link.updated_at,
    )


@router.post("/links", status_code=status.HTTP_201_CREATED)
async def create_link(
    data: LinkCreate, session: Session, principal: WritingPrincipal, context: Context
) -> LinkRead:
    """Create a link for a release, optionally with its destinations."""
    link = await service.create_link(session, principal.workspace_id, data, clock=context.clock)
    return link_read(link, context)


@router.get("/links")
async def list_links(
    session: Session,
    principal: CurrentPrincipal,
    context: Context,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> LinkPage:
    """List links, oldest first, a page at a time."""
    page = await service.list_links(session, principal.workspace_id, cursor=cursor, limit=limit)
    return LinkPage(
        items=[link_read(link, context) for link in page.items], next_cursor=page.next_cursor
    )


@router.get("/links/{link_id}")
async def get_link(
    link_id: UUID, session: Session, principal: CurrentPrincipal, context: Context
) -> LinkRead:
    """Get one link with its destinations."""
    return link_read(await service.get_link(session, principal.workspace_id, link_id), context)


@router.patch("/links/{link_id}")
async def update_link(
    link_id: UUID, data: LinkUpdate, session: Session, principal: WritingPrincipal, context: Context
) -> LinkRead:
    """Change a link's slug, domain or release."""
    return link_read(
        await service.update_link(session, principal.workspace_id, link_id, data), context
    )


@router.delete("/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_link(link_id: UUID, session: Session, principal: WritingPrincipal) -> None:
    """Delete a link; its public URL answers 404 from then on."""
    await service.delete_link(session, principal.workspace_id, link_id)


@router.get("/links/{link_id}/destinations")
async def list_destinations(
    link_id: UUID, session: Session, principal: CurrentPrincipal
) -> list[DestinationRead]:
    """List a link's destinations in display order."""
    link = await service.get_link(session, principal.workspace_id, link_id)
    return [DestinationRead.model_validate(d) for d in link.destinations]


@router.post("/links/{link_id}/destinations", status_code=status.HTTP_201_CREATED)
async def add_destination(
    link_id: UUID, data: DestinationCreate, session: Session, principal: WritingPrincipal
) -> DestinationRead:
    """Add a service destination to a link."""
    destination = await service.add_destination(session, principal.workspace_id, link_id, data)
    return DestinationRead.model_validate(destination)


@router.put("/links/{link_id}/destinations/order")
async def reorder_destinations(
    link_id: UUID, data: DestinationOrder, session: Session, principal: WritingPrincipal
) -> list[DestinationRead]:
    """Set the display order of all destinations at once."""
    link = await service.reorder_destinations(
        session, principal.workspace_id, link_id, data.services
    )
    return [
        DestinationRead.model_validate(d)
        for d in sorted(link.destinations, key=lambda d: d.position)
    ]


@router.get("/links/{link_id}/destinations/{service_key}")
async def get_destination(
    link_id: UUID, service_key: str, session: Session, principal: CurrentPrincipal
) -> DestinationRead:
    """Get one destination of a link."""
    link = await service.get_link(session, principal.workspace_id, link_id)
    return DestinationRead.model_validate(service.find_destination(link, service_key))


@router.patch("/links/{link_id}/destinations/{service_key}")
async def update_destination(
    link_id: UUID,
    service_key: str,
    data: DestinationUpdate,
    session: Session,
    principal: WritingPrincipal,
) -> DestinationRead:
    """Change a destination's URL, country overrides, visibility or position."""
    destination = await service.update_destination(
        session, principal.workspace_id, link_id, service_key, data
    )
    return DestinationRead.model_validate(destination)


@router.delete(
    "/links/{link_id}/destinations/{service_key}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_destination(
    link_id: UUID, service_key: str, session: Session, principal: WritingPrincipal
) -> None:
    """Remove a destination from a link."""
    await service.delete_destination(session, principal.workspace_id, link_id, service_key)


@router.post("/domains", status_code=status.HTTP_201_CREATED)
async def create_custom_domain(
    data: CustomDomainCreate, session: Session, principal: WritingPrincipal, context: Context
) -> CustomDomainRead:
    """Claim a custom domain; it serves links once ownership is verified."""
    own_host = urlsplit(context.settings.public_url).hostname or ""
    claim = await service.create_custom_domain(
        session, principal.workspace_id, data, own_host=own_host
    )
    return domain_read(claim)


@router.post("/domains/{domain_id}/verify")
async def verify_custom_domain(
    domain_id: UUID,
    session: Session,
    principal: WritingPrincipal,
    context: Context,
    prover: Prover,
    data: DomainVerify | None = None,
) -> CustomDomainRead:
    """Check the domain's DNS TXT record or HTTP token and start serving it."""
    methods = (
        [DomainProof(data.method)]
        if data is not None and data.method is not None
        else [DomainProof.dns, DomainProof.http]
    )
    domain = await service.verify_custom_domain(
        session, principal.workspace_id, domain_id, prover, methods=methods, clock=context.clock
    )
    return domain_read(domain)


@router.get("/domains")
async def list_custom_domains(
    session: Session, principal: CurrentPrincipal
) -> list[CustomDomainRead]:
    """List the workspace's custom domains, verified and pending."""
    domains = await service.list_custom_domains(session, principal.workspace_id)
    return [domain_read(domain) for domain in domains]


@router.get("/domains/{domain_id}")
async def get_custom_domain(
    domain_id: UUID, session: Session, principal: CurrentPrincipal
) -> CustomDomainRead:
    """Get one custom domain, with what proves its ownership while pending."""
    return domain_read(await service.get_custom_domain(session, principal.workspace_id, domain_id))


@router.patch("/domains/{domain_id}")
async def update_custom_domain(
    domain_id: UUID, data: CustomDomainUpdate, session: Session, principal: WritingPrincipal
) -> CustomDomainRead:
    """Choose the link served at a verified domain's root (or none)."""
    domain = await service.update_custom_domain(session, principal.workspace_id, domain_id, data)
    return domain_read(domain)


@router.delete("/domains/{domain_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_custom_domain(
    domain_id: UUID, session: Session, principal: WritingPrincipal
) -> None:
    """Remove a pending claim, or a domain no link uses."""
    await service.delete_custom_domain(session, principal.workspace_id, domain_id)
