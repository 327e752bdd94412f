"""The Release section of a campaign: when the release comes out, changed through the
API's own ``catalog.service.update_release`` (so a move re-plans pre-saves, fulfilment
jobs and reminders in the same transaction, and emits ``release.moved``), a
"release now" button while it is not out yet, and whether the link takes pre-saves
until then (``presave.campaigns.set_presaving``).

Editors and up change it, viewers look; every form carries the CSRF token; bad input comes
back as the form with the message next to its field; each change is in the audit log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from launchlink.accounts import audit
from launchlink.catalog import service as catalog
from launchlink.catalog.endpoints import get_territories
from launchlink.dashboard import campaigns, lifecycle
from launchlink.dashboard.kit import (
    CsrfForm,
    CurrentClock,
    Member,
    Need,
    form_page,
    member,
    nav,
    refuse,
    see_other,
    workspace_url,
)
from launchlink.dependencies import Session, get_context
from launchlink.errors import LaunchlinkError
from launchlink.kit.clock import Clock
from launchlink.models import Release
from launchlink.presave import campaigns as presave_campaigns
from launchlink.web.forms import validate

router = APIRouter()

FIELDS = ("release_mode", "release_date", "release_time", "time_zone")
CONFIRM_LOCAL = (
    "tick the box to confirm: releasing now replaces local midnight in each territory with "
    "one moment, now, everywhere"
)


class ReleaseForm(BaseModel):
    """When the release comes out: one instant everywhere (``global``: the date and time
    in ``time_zone``), or local midnight of the date in each territory (``local``:
    ``time_zone`` for visitors whose territory is unknown)."""

    model_config = ConfigDict(extra="ignore")
    release_mode: Literal["global", "local"]
    release_date: date
    release_time: time = Field(default=time(0, 0))
    time_zone: str = Field(min_length=1, max_length=64)

    @field_validator("release_time", mode="before")
    @classmethod
    def _blank_is_midnight(cls, value: Any) -> Any:
        return time(0, 0) if value == "" else value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone; use a name like Europe/London"
            ) from None
        return value

    @field_validator("release_date")
    @classmethod
    def _sane_year(cls, value: date) -> date:
        if not 2000 <= value.year <= 2100:
            raise ValueError("choose a date between 2000 and 2100")
        return value


def _timing(release: Release) -> dict[str, Any]:
    return {
        "release_mode": release.release_mode.value,
        "release_instant": (
            release.release_instant.astimezone(UTC).isoformat() if release.release_instant else None
        ),
        "release_date": release.release_date.isoformat() if release.release_date else None,
        "time_zone": release.time_zone,
    }


def _plan(release: Release, life: lifecycle.Lifecycle) -> str:
    """The release moment in words, as the audit log keeps the one a change replaced."""
    if release.release_instant is not None:
        return f"one moment everywhere: {release.release_instant.astimezone(UTC).isoformat()}"
    if release.release_date is None:
        return "no release date"
    plan = (
        f"local midnight of {release.release_date.isoformat()} in each territory "
        f"(unknown territory: {release.time_zone})"
    )
    if life.territories:
        first = min(life.territories, key=lambda t: t.release_at)
        last = max(life.territories, key=lambda t: t.release_at)
        plan += (
            f", from {first.release_at.astimezone(UTC).isoformat()} ({first.country}) "
            f"to {last.release_at.astimezone(UTC).isoformat()} ({last.country})"
        )
    return plan


def _local(release: Release) -> bool:
    """Out at local midnight in each territory (what "release now" gives up)."""
    return release.release_instant is None and release.release_date is not None


def _values_of(release: Release) -> dict[str, str]:
    zone = ZoneInfo(release.time_zone)
    if release.release_instant is not None:
        local = release.release_instant.astimezone(zone)
        return {
            "release_mode": "global",
            "release_date": local.date().isoformat(),
            "release_time": local.strftime("%H:%M"),
            "time_zone": release.time_zone,
        }
    return {
        "release_mode": release.release_mode.value,
        "release_date": release.release_date.isoformat() if release.release_date else "",
        "release_time": "00:00",
        "time_zone": release.time_zone,
    }


def _base(m: Member, link_id: UUID) -> str:
    return workspace_url(m, f"/campaigns/{link_id}/release")


async def _campaign(
    request: Request, session: AsyncSession, m: Member, link_id: UUID, clock: Clock
) -> tuple[campaigns.Campaign, lifecycle.Lifecycle]:
    context = get_context(request)
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=context.settings.public_url
    )
    life = lifecycle.lifecycle(
        found.link,
        found.release,
        found.presave_campaign,
        now=clock.now(),
        territories=get_territories(context),
    )
    return found, life


async def _refused(
    request: Request,
    session: AsyncSession,
    m: Member,
    link_id: UUID,
    clock: Clock,
    error: LaunchlinkError,
    *,
    values: dict[str, str] | None = None,
) -> Response:
    """The section again with why the change was refused next to its field; nothing of it
    is kept. Only refusals a person can act on (409, 422) come here; others propagate."""
    if error.status_code not in (409, 422):
        raise error
    await refuse(session)
    field = {"release_instant": "release_date"}.get(error.field or "", error.field or "form")
    return await _release_page(
        request,
        session,
        m,
        link_id,
        clock,
        errors={field if field in FIELDS else "form": error.message},
        values=values,
        status=error.status_code,
    )


async def _release_page(
    request: Request,
    session: AsyncSession,
    m: Member,
    link_id: UUID,
    clock: Clock,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found, life = await _campaign(request, session, m, link_id, clock)
    return form_page(
        request,
        "dashboard/release.html",
        {
            **nav(m, "campaigns"),
            "c": found,
            "life": life,
            "local": _local(found.release),
            "first_out": (
                min(t.release_at for t in life.territories).astimezone(UTC)
                if life.territories
                else None
            ),
            "released": not life.phase.is_before_release,
        },
        status=status,
        errors=errors,
        values=values or _values_of(found.release),
    )


@router.get("/w/{workspace_id}/campaigns/{link_id}/release")
async def release_page(
    request: Request,
    link_id: UUID,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.view)],
) -> Response:
    return await _release_page(request, session, m, link_id, clock)


async def _move(
    request: Request,
    session: AsyncSession,
    m: Member,
    link_id: UUID,
    clock: Clock,
    *,
    action: str,
    mode: str,
    instant: datetime | None,
    local_date: date | None,
    time_zone: str,
) -> Release:
    """Move the campaign's release with the API's rules (the same service call); the
    audit entry keeps the plan it replaced, in words as well as fields."""
    context = get_context(request)
    found, life = await _campaign(request, session, m, link_id, clock)
    before = _timing(found.release)
    plan = _plan(found.release, life)
    change = await catalog.move_release(
        session,
        m.workspace.id,
        found.release.id,
        release_mode=mode,
        release_instant=instant,
        release_date=local_date,
        time_zone=time_zone,
        territories=get_territories(context),
        clock=clock,
    )
    after = _timing(change.release)
    if after != before:
        await audit.record(
            session,
            m.actor,
            action,
            ("release", found.release.id),
            before=before | {"plan": plan},
            after=after | {"replanned": change.replan.moved if change.replan is not None else 0},
            clock=clock,
        )
    return change.release


@router.post("/w/{workspace_id}/campaigns/{link_id}/release")
async def save_release(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    result = validate(ReleaseForm, form)
    data = result.data
    if not result.ok or data is None:
        return await _release_page(
            request, session, m, link_id, clock, errors=result.errors, values=form, status=422
        )
    instant = None
    if data.release_mode == "global":
        local = datetime.combine(data.release_date, data.release_time, ZoneInfo(data.time_zone))
        instant = local.astimezone(UTC)
    try:
        await _move(
            request,
            session,
            m,
            link_id,
            clock,
            action="release.moved",
            mode=data.release_mode,
            instant=instant,
            local_date=data.release_date if data.release_mode == "local" else None,
            time_zone=data.time_zone,
        )
    except LaunchlinkError as error:
        return await _refused(request, session, m, link_id, clock, error, values=form)
    return see_other(_base(m, link_id) + "?done=saved")


@router.post("/w/{workspace_id}/campaigns/{link_id}/release/now")
async def release_now(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Out now, everywhere at once: a global release at this second. A local-midnight
    release gives its per-territory moments up for it, so that needs ``confirm=1``."""
    found, life = await _campaign(request, session, m, link_id, clock)
    # Asked where the page offers the tick (a local release not out yet), so the error is
    # shown next to it.
    ahead = life.phase.is_before_release
    if _local(found.release) and ahead and form.get("confirm") != "1":
        return await _release_page(
            request,
            session,
            m,
            link_id,
            clock,
            errors={"confirm": CONFIRM_LOCAL},
            status=422,
        )
    try:
        await _move(
            request,
            session,
            m,
            link_id,
            clock,
            action="release.released_now",
            mode="global",
            instant=clock.now().replace(microsecond=0),
            local_date=None,
            time_zone=found.release.time_zone,
        )
    except LaunchlinkError as error:
        return await _refused(request, session, m, link_id, clock, error)
    return see_other(_base(m, link_id) + "?done=released")


@router.post("/w/{workspace_id}/campaigns/{link_id}/release/presave")
async def save_presaving(
    request: Request,
    link_id: UUID,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.edit)],
) -> Response:
    """Take pre-saves until the release (``enabled=1``), or stop taking them."""
    raw = form.get("enabled", "")
    if raw not in ("", "0", "1"):
        return await _release_page(
            request, session, m, link_id, clock, errors={"enabled": "tick or untick"}, status=422
        )
    enabled = raw == "1"
    context = get_context(request)
    found = await campaigns.campaign(
        session, m.workspace.id, link_id, public_base_url=context.settings.public_url
    )
    was = found.presave_campaign is not None and found.presave_campaign.enabled
    if enabled != was:
        await presave_campaigns.set_presaving(
            session, m.workspace.id, found.link.id, enabled=enabled
        )
        await audit.record(
            session,
            m.actor,
            "presave.enabled" if enabled else "presave.disabled",
            ("link", found.link.id),
            before={"enabled": was},
            after={"enabled": enabled},
            clock=clock,
        )
    return see_other(_base(m, link_id) + "?done=saved")
