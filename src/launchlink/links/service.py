"""Link actions: links, their destinations and custom domains. Never commits."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.catalog.repository import ReleaseRepository
from launchlink.errors import Conflict, NotFound, OwnershipNotProven, ValidationFailed
from launchlink.fulfilment.service import queue_standing_presaves
from launchlink.kit.clock import Clock, SystemClock
from launchlink.kit.pagination import Page
from launchlink.kit.urls import UrlRefused, check_url
from launchlink.links.changes import touch_links
from launchlink.links.domains import OwnershipProver, new_token
from launchlink.links.repository import (
    CustomDomainClaimRepository,
    CustomDomainRepository,
    LinkRepository,
)
from launchlink.links.schemas import (
    CustomDomainCreate,
    CustomDomainUpdate,
    DestinationCreate,
    DestinationUpdate,
    LinkCreate,
    LinkUpdate,
)
from launchlink.models import CustomDomain, CustomDomainClaim, Destination, Link
from launchlink.models.links import DEFAULT_HOST, DomainProof
from launchlink.platforms import (
    DestinationUrlError,
    UnknownPlatform,
    get_platform,
    validate_destination_url,
)


def public_url_of(link: Link, *, public_base_url: str) -> str:
    return public_url_at(link.host, link.slug, public_base_url=public_base_url)


def public_url_at(host: str, slug: str, *, public_base_url: str) -> str:
    """Where a link on ``host`` with ``slug`` is served (a custom domain, or ours)."""
    if host != DEFAULT_HOST:
        return f"https://{host}/{slug}"
    return f"{public_base_url}/{slug}"


async def touch_links_of_release(session: AsyncSession, release_id: UUID) -> None:
    await touch_links(session, await LinkRepository(session).ids_of_release(release_id))


async def count_links_of_release(session: AsyncSession, release_id: UUID) -> int:
    return len(await LinkRepository(session).ids_of_release(release_id))


def _checked_destination_url(service: str, url: str, *, field: str) -> str:
    # The service's own hosts first (its message says where to copy the link from), then
    # the rules every stored URL follows.
    try:
        return check_url(validate_destination_url(service, url))
    except DestinationUrlError as error:
        raise ValidationFailed(error.message, field=field) from None
    except UrlRefused as error:
        raise ValidationFailed(f"the link {error}", field=field) from None


def _checked_destination_urls(
    service: str, url: str, country_urls: dict[str, str]
) -> tuple[str, dict[str, str]]:
    try:
        get_platform(service)
    except UnknownPlatform:
        raise ValidationFailed(f"unknown service {service!r}", field="service") from None
    checked_url = _checked_destination_url(service, url, field="url")
    checked_countries: dict[str, str] = {}
    for country, country_url in country_urls.items():
        try:
            checked_countries[country] = _checked_destination_url(
                service, country_url, field=f"country_urls.{country}"
            )
        except ValidationFailed as error:
            raise ValidationFailed(f"{country}: {error.message}", field=error.field) from None
    return checked_url, checked_countries


async def _resolve_domain(
    session: AsyncSession, workspace_id: UUID, hostname: str | None
) -> CustomDomain | None:
    if hostname is None:
        return None
    domain = await CustomDomainRepository(session).get_by_hostname(hostname)
    if domain is not None and domain.workspace_id == workspace_id:
        return domain
    # Only this workspace's own claims are consulted: whether another workspace holds or
    # claims the hostname is never revealed.
    claim = await CustomDomainClaimRepository(session).get_for(workspace_id, hostname)
    if claim is not None:
        raise ValidationFailed(
            f"{hostname} is not verified yet: publish its DNS record or HTTP token, then "
            f"POST /domains/{claim.id}/verify",
            field="custom_domain",
        )
    raise ValidationFailed(
        f"{hostname} is not a custom domain of this workspace; add it first",
        field="custom_domain",
    )


async def _ensure_slug_free(
    session: AsyncSession, host: str, slug: str, *, except_id: UUID | None = None
) -> None:
    existing = await LinkRepository(session).get_by_host_slug(host, slug)
    if existing is not None and existing.id != except_id:
        where = host or "this instance"
        raise Conflict(f"the slug '{slug}' is already used on {where}", field="slug")


async def create_link(
    session: AsyncSession, workspace_id: UUID, data: LinkCreate, *, clock: Clock | None = None
) -> Link:
    """Create a link; fans with a standing authorisation for the release's artists get
    their pre-save queued in the same transaction (no new visit needed)."""
    release = await ReleaseRepository(session).get(workspace_id, data.release_id)
    if release is None:
        raise ValidationFailed(
            f"no release {data.release_id} in this workspace", field="release_id"
        )
    domain = await _resolve_domain(session, workspace_id, data.custom_domain)
    host = domain.hostname if domain is not None else DEFAULT_HOST
    await _ensure_slug_free(session, host, data.slug)
    services = [destination.service for destination in data.destinations]
    if len(set(services)) != len(services):
        raise ValidationFailed(
            "each service can have one destination per link", field="destinations"
        )
    link = Link(
        workspace_id=workspace_id,
        release_id=release.id,
        slug=data.slug,
        host=host,
        custom_domain_id=domain.id if domain is not None else None,
        destinations=[],
    )
    for index, destination in enumerate(data.destinations):
        url, country_urls = _checked_destination_urls(
            destination.service, destination.url, dict(destination.country_urls)
        )
        link.destinations.append(
            Destination(
                service=destination.service,
                url=url,
                country_urls=country_urls,
                hidden=destination.hidden,
                position=index,
            )
        )
    await LinkRepository(session).add(link)
    await touch_links(session, [link.id])
    # Same transaction, not after commit: a link that exists always has its standing fans
    # queued (a crash after commit cannot lose them; no sweep exists to catch up).
    await queue_standing_presaves(session, release.id, clock=clock or SystemClock())
    await LinkRepository(session).reload(link)
    return link


async def get_link(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> Link:
    link = await LinkRepository(session).get(workspace_id, link_id)
    if link is None:
        raise NotFound(f"no link {link_id} in this workspace")
    return link


async def list_links(
    session: AsyncSession, workspace_id: UUID, *, cursor: str | None, limit: int
) -> Page[Link]:
    return await LinkRepository(session).list_page(workspace_id, cursor=cursor, limit=limit)


async def update_link(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, data: LinkUpdate
) -> Link:
    link = await get_link(session, workspace_id, link_id)
    fields = data.model_fields_set
    if "release_id" in fields:
        if data.release_id is None:
            raise ValidationFailed("a link needs a release", field="release_id")
        release = await ReleaseRepository(session).get(workspace_id, data.release_id)
        if release is None:
            raise ValidationFailed(
                f"no release {data.release_id} in this workspace", field="release_id"
            )
        link.release_id = release.id
    if "custom_domain" in fields:
        domain = await _resolve_domain(session, workspace_id, data.custom_domain)
        link.custom_domain_id = domain.id if domain is not None else None
        link.host = domain.hostname if domain is not None else DEFAULT_HOST
        await CustomDomainRepository(session).clear_root(link.id)
    if "slug" in fields:
        if data.slug is None:
            raise ValidationFailed("a link needs a slug", field="slug")
        link.slug = data.slug
    await _ensure_slug_free(session, link.host, link.slug, except_id=link.id)
    await session.flush()
    await touch_links(session, [link.id])
    await LinkRepository(session).reload(link)
    return link


async def delete_link(session: AsyncSession, workspace_id: UUID, link_id: UUID) -> None:
    link = await get_link(session, workspace_id, link_id)
    await CustomDomainRepository(session).clear_root(link.id)
    await touch_links(session, [link.id])
    await LinkRepository(session).delete(link)


def find_destination(link: Link, service: str) -> Destination:
    for destination in link.destinations:
        if destination.service == service:
            return destination
    raise NotFound(f"this link has no {service} destination")


def _renumber(link: Link, moved: Destination | None = None, position: int | None = None) -> None:
    ordered = [d for d in sorted(link.destinations, key=lambda d: d.position) if d is not moved]
    if moved is not None:
        ordered.insert(min(position if position is not None else len(ordered), len(ordered)), moved)
    for index, destination in enumerate(ordered):
        destination.position = index


async def add_destination(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, data: DestinationCreate
) -> Destination:
    link = await get_link(session, workspace_id, link_id)
    if any(destination.service == data.service for destination in link.destinations):
        raise Conflict(f"this link already has a {data.service} destination", field="service")
    url, country_urls = _checked_destination_urls(data.service, data.url, dict(data.country_urls))
    destination = Destination(
        service=data.service,
        url=url,
        country_urls=country_urls,
        hidden=data.hidden,
        position=len(link.destinations),
    )
    link.destinations.append(destination)
    _renumber(link, destination, data.position)
    await session.flush()
    await touch_links(session, [link.id])
    return destination


async def update_destination(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, service: str, data: DestinationUpdate
) -> Destination:
    link = await get_link(session, workspace_id, link_id)
    destination = find_destination(link, service)
    url = data.url if data.url is not None else destination.url
    country_urls = (
        dict(data.country_urls) if data.country_urls is not None else dict(destination.country_urls)
    )
    destination.url, destination.country_urls = _checked_destination_urls(
        service, url, country_urls
    )
    if data.hidden is not None:
        destination.hidden = data.hidden
    if data.position is not None:
        _renumber(link, destination, data.position)
    await session.flush()
    await touch_links(session, [link.id])
    return destination


async def delete_destination(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, service: str
) -> None:
    link = await get_link(session, workspace_id, link_id)
    link.destinations.remove(find_destination(link, service))
    _renumber(link)
    await session.flush()
    await touch_links(session, [link.id])


async def reorder_destinations(
    session: AsyncSession, workspace_id: UUID, link_id: UUID, services: list[str]
) -> Link:
    link = await get_link(session, workspace_id, link_id)
    current = {destination.service: destination for destination in link.destinations}
    if sorted(services) != sorted(current):
        raise ValidationFailed(
            "list every destination service of this link exactly once: "
            + ", ".join(sorted(current)),
            field="services",
        )
    for index, service in enumerate(services):
        current[service].position = index
    await session.flush()
    await touch_links(session, [link.id])
    return link


DomainEntry = CustomDomain | CustomDomainClaim
"""A workspace's domain as the API shows it: held (verified) or a pending claim."""


def _already_registered(hostname: str) -> Conflict:
    # One answer whoever holds or claims it, this workspace or another: registration must
    # not tell one workspace anything about another.
    return Conflict(f"{hostname} is already registered", field="hostname")


async def create_custom_domain(
    session: AsyncSession, workspace_id: UUID, data: CustomDomainCreate, *, own_host: str
) -> CustomDomainClaim:
    """Claim a hostname: pending, with a token to publish, until ownership is proven.

    Another workspace's *pending* claim does not stand in the way (claims prove nothing);
    a hostname some workspace has proven is taken.
    """
    if data.hostname == own_host:
        raise ValidationFailed(
            "this is launchlink's own host, not a custom domain", field="hostname"
        )
    if await CustomDomainRepository(session).get_by_hostname(data.hostname) is not None:
        raise _already_registered(data.hostname)
    claim = CustomDomainClaim(
        workspace_id=workspace_id, hostname=data.hostname, verification_token=new_token()
    )
    if not await CustomDomainClaimRepository(session).add_if_free(claim):
        raise _already_registered(data.hostname)
    return claim


async def verify_custom_domain(
    session: AsyncSession,
    workspace_id: UUID,
    domain_id: UUID,
    prover: OwnershipProver,
    *,
    methods: list[DomainProof],
    clock: Clock,
) -> CustomDomain:
    """Check the claim's DNS record or HTTP token; the first workspace to prove wins."""
    entry = await get_custom_domain(session, workspace_id, domain_id)
    if isinstance(entry, CustomDomain):
        return entry  # already proven
    attempts = await prover.prove(entry.hostname, entry.verification_token, methods)
    proof = next((attempt for attempt in attempts if attempt.proven), None)
    if proof is None:
        raise OwnershipNotProven(
            f"ownership of {entry.hostname} is not proven yet: "
            + "; ".join(attempt.detail for attempt in attempts)
        )
    domains = CustomDomainRepository(session)
    domain = CustomDomain(
        id=entry.id,
        workspace_id=workspace_id,
        hostname=entry.hostname,
        verified_at=clock.now(),
        verified_by=proof.method,
    )
    if await domains.get_by_hostname(entry.hostname) is not None or not (
        await domains.add_if_free(domain)
    ):
        raise _already_registered(entry.hostname)
    await CustomDomainClaimRepository(session).delete(entry)
    return domain


async def _set_domain_root(
    session: AsyncSession, workspace_id: UUID, domain: CustomDomain, link_id: UUID | None
) -> None:
    if link_id is not None:
        link = await LinkRepository(session).get(workspace_id, link_id)
        if link is None or link.custom_domain_id != domain.id:
            raise ValidationFailed(
                "the root link must be a link of this workspace on this domain",
                field="root_link_id",
            )
    previous = domain.root_link_id
    domain.root_link_id = link_id
    await session.flush()
    await touch_links(session, [x for x in (previous, link_id) if x is not None])


async def list_custom_domains(session: AsyncSession, workspace_id: UUID) -> list[DomainEntry]:
    held: list[DomainEntry] = list(await CustomDomainRepository(session).list_all(workspace_id))
    claims = await CustomDomainClaimRepository(session).list_all(workspace_id)
    return sorted([*held, *claims], key=lambda entry: entry.hostname)


async def get_custom_domain(
    session: AsyncSession, workspace_id: UUID, domain_id: UUID
) -> DomainEntry:
    domain = await CustomDomainRepository(session).get(workspace_id, domain_id)
    if domain is not None:
        return domain
    claim = await CustomDomainClaimRepository(session).get(workspace_id, domain_id)
    if claim is None:
        raise NotFound(f"no custom domain {domain_id} in this workspace")
    return claim


async def _held_domain(session: AsyncSession, workspace_id: UUID, domain_id: UUID) -> CustomDomain:
    entry = await get_custom_domain(session, workspace_id, domain_id)
    if isinstance(entry, CustomDomainClaim):
        raise Conflict(
            f"{entry.hostname} is not verified yet; a pending domain serves nothing",
            field="root_link_id",
        )
    return entry


async def update_custom_domain(
    session: AsyncSession, workspace_id: UUID, domain_id: UUID, data: CustomDomainUpdate
) -> CustomDomain:
    domain = await _held_domain(session, workspace_id, domain_id)
    await _set_domain_root(session, workspace_id, domain, data.root_link_id)
    return domain


async def delete_custom_domain(session: AsyncSession, workspace_id: UUID, domain_id: UUID) -> None:
    entry = await get_custom_domain(session, workspace_id, domain_id)
    if isinstance(entry, CustomDomainClaim):
        await CustomDomainClaimRepository(session).delete(entry)
        return
    if await LinkRepository(session).ids_on_domain(entry.id):
        raise Conflict("links still use this domain; move or delete them first")
    await CustomDomainRepository(session).delete(entry)
