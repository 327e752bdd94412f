"""Auto-fill endpoints: ``POST /resolve``, ``GET /releases/{id}/checks``, and the body
parser behind ``POST /releases?autofill=true`` (the route itself lives in the catalogue)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from launchlink.autofill import service
from launchlink.autofill.checks import ReleaseChecks
from launchlink.autofill.resolver import FoundDestination, MissingService, Resolution
from launchlink.autofill.schemas import (
    ApplePreaddRead,
    AutofillReleaseCreate,
    FoundDestinationRead,
    MissingServiceRead,
    ReleaseChecksRead,
    ResolutionRead,
    ResolvedReleaseRead,
    ResolvedTrackRead,
    ResolveRequest,
    ServiceCheckRead,
    TrackCheckRead,
    inline_schema,
)
from launchlink.autofill.sources import LookupSources, get_lookup_sources
from launchlink.catalog.schemas import ReleaseCreate
from launchlink.context import AppContext
from launchlink.dependencies import CurrentPrincipal, Session, get_context
from launchlink.models import Release

router = APIRouter(tags=["auto-fill"])

Sources = Annotated[LookupSources, Depends(get_lookup_sources)]
Context = Annotated[AppContext, Depends(get_context)]


def destination_read(found: FoundDestination) -> FoundDestinationRead:
    return FoundDestinationRead(
        service=found.service,
        url=found.url,
        matched_by=found.matched_by,
        confidence=found.confidence,
        service_id=found.service_id,
    )


def missing_read(missing: MissingService) -> MissingServiceRead:
    return MissingServiceRead(service=missing.service, reason=missing.reason, detail=missing.detail)


def resolution_read(resolution: Resolution) -> ResolutionRead:
    release = resolution.release
    return ResolutionRead(
        release=ResolvedReleaseRead(
            title=release.title,
            type=release.type,
            artists=list(release.artists),
            upc=release.upc,
            tracks=[
                ResolvedTrackRead(
                    position=t.position, title=t.title, isrc=t.isrc, duration_ms=t.duration_ms
                )
                for t in release.tracks
            ],
            artwork_url=release.artwork_url,
            release_date=release.release_date,
            source=release.source,
        ),
        destinations=[destination_read(found) for found in resolution.destinations],
        missing=[missing_read(missing) for missing in resolution.missing],
    )


def checks_read(release: Release, checks: ReleaseChecks) -> ReleaseChecksRead:
    return ReleaseChecksRead(
        release_id=str(release.id),
        checked_at=checks.checked_at,
        upc=checks.upc,
        services=[
            ServiceCheckRead(
                service=check.service,
                upc_status=check.upc_status,
                detail=check.detail,
                url=check.match.url if check.match else None,
                track_count=(
                    (check.match.track_count or len(check.match.tracks) or None)
                    if check.match
                    else None
                ),
                is_preorder=bool(check.match and check.match.is_preorder),
            )
            for check in checks.services
        ],
        tracks=[
            TrackCheckRead(
                position=track.position,
                title=track.title,
                isrc=track.isrc,
                services=track.services,
            )
            for track in checks.tracks
        ],
        apple_preadd=ApplePreaddRead(
            eligible=checks.apple_preadd.eligible, detail=checks.apple_preadd.detail
        ),
        issues=checks.issues,
    )


@router.post("/resolve")
async def resolve_release(
    data: ResolveRequest, principal: CurrentPrincipal, sources: Sources
) -> ResolutionRead:
    """Find a release on every service from one service URL, UPC or ISRC."""
    del principal  # any key of any workspace may resolve; nothing is stored
    resolution = await service.resolve(
        sources,
        service.ResolveQuery(url=data.url, upc=data.upc, isrc=data.isrc, country=data.country),
    )
    return resolution_read(resolution)


@router.get("/releases/{release_id}/checks")
async def release_checks(
    release_id: UUID,
    session: Session,
    principal: CurrentPrincipal,
    sources: Sources,
    context: Context,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
) -> ReleaseChecksRead:
    """Pre-launch checks: UPC found per service, track ISRCs, Apple pre-add eligibility."""
    release, checks = await service.release_checks(
        session,
        principal.workspace_id,
        release_id,
        sources,
        now=context.clock.now(),
        country=country.upper() if country else None,
    )
    return checks_read(release, checks)


# -- POST /releases?autofill=true -----------------------------------------------------------


async def release_create_body(
    request: Request,
    autofill: Annotated[
        bool,
        Query(
            description="true: read the release from the services (body: url, upc or isrc) "
            "and create its link with every destination found."
        ),
    ] = False,
) -> ReleaseCreate | AutofillReleaseCreate:
    """The body of ``POST /releases``, parsed by the model ``autofill`` selects.

    Errors keep the shape FastAPI gives a plain body parameter (``loc`` starts with
    ``body``), so the API's error handler names the same field either way.
    """
    try:
        raw: Any = await request.json()
    except ValueError:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "the body is not valid JSON"}]
        ) from None
    model: type[ReleaseCreate | AutofillReleaseCreate] = (
        AutofillReleaseCreate if autofill else ReleaseCreate
    )
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**detail, "loc": ("body", *detail["loc"])} for detail in error.errors()]
        ) from None


ReleaseCreateBody = Annotated[ReleaseCreate | AutofillReleaseCreate, Depends(release_create_body)]

RELEASE_CREATE_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [inline_schema(ReleaseCreate), inline_schema(AutofillReleaseCreate)]
                }
            }
        },
    }
}
