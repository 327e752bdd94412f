"""GDPR requests (a fan's data as JSON, deleting a fan) and the contacts CSV.

A fan is found by a proven identity only: the address they confirmed (``fan.email`` holds
nothing else) or a service account they signed in with. Rows are never merged across
fans, so an export shows one fan's own data. Addresses typed but never confirmed are data
about that address, not about any fan: they are listed (and erased) by email, without
saying who typed them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.db import Database
from launchlink.errors import NotFound
from launchlink.messaging.repository import MessagingRepository
from launchlink.models import Fan
from launchlink.presave.repository import PresaveRepository
from launchlink.presave.schemas import FanDeleted, FanLookup
from launchlink.presave.service import normalise_email

CSV_COLUMNS = ("email", "phone", "country", "language", "email_consent_at", "sms_consent_at")


async def find_fans(session: AsyncSession, workspace_id: UUID, lookup: FanLookup) -> list[Fan]:
    repository = PresaveRepository(session)
    fans: dict[UUID, Fan] = {}
    email = _lookup_email(lookup)
    if email:
        fan = await repository.fan_by_email(workspace_id, email)
        if fan is not None:
            fans[fan.id] = fan
    if lookup.service and lookup.account_id:
        grant = await repository.grant(workspace_id, lookup.service, lookup.account_id)
        if grant is not None:
            fan = await repository.fan(workspace_id, grant.fan_id)
            if fan is not None:
                fans[fan.id] = fan
    return list(fans.values())


def _lookup_email(lookup: FanLookup) -> str | None:
    return normalise_email(lookup.email) if lookup.email else None


def _not_found() -> NotFound:
    return NotFound("no fan with that email or service account in this workspace")


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def export_fan_data(
    session: AsyncSession, workspace_id: UUID, lookup: FanLookup
) -> dict[str, Any]:
    """Everything stored about the fan(s), tokens excluded (they are secrets, not data)."""
    repository = PresaveRepository(session)
    email = _lookup_email(lookup)
    unconfirmed = [
        contact
        for contact in (await repository.pending_contacts_for(workspace_id, email) if email else [])
        if contact.confirmed_at is None
    ]
    fans = await find_fans(session, workspace_id, lookup)
    if not fans and not unconfirmed:
        raise _not_found()
    exported = []
    for fan in fans:
        presaves = await repository.presaves_of_fan(fan.id)
        events = await repository.events_of([p.id for p in presaves])
        exported.append(
            {
                "id": str(fan.id),
                "email": fan.email,
                "phone": fan.phone,
                "country": fan.country,
                "time_zone": fan.time_zone,
                "language": fan.language,
                "email_consent_at": _iso(fan.email_consent_at),
                "sms_consent_at": _iso(fan.sms_consent_at),
                "created_at": _iso(fan.created_at),
                "service_accounts": [
                    {
                        "service": g.service,
                        "account_id": g.account_id,
                        "scopes": g.scopes,
                        "storefront": g.storefront,
                        "future_releases": g.standing,
                        "tokens_stored": g.access_token is not None,
                        "revoked_at": _iso(g.revoked_at),
                        "created_at": _iso(g.created_at),
                    }
                    for g in await repository.grants_of_fan(fan.id)
                ],
                "presaves": [
                    {
                        "id": str(p.id),
                        "link_id": str(p.link_id),
                        "service": p.service,
                        "mode": p.mode.value,
                        "state": p.state.value,
                        "due_at": _iso(p.due_at),
                        "time_zone": p.time_zone,
                        "country": p.country,
                        # This release's reminders only (no marketing consent), per channel.
                        "email_reminder_at": _iso(p.email_reminder_at),
                        "sms_reminder_at": _iso(p.sms_reminder_at),
                        "actions": p.actions,
                        "outcome": p.outcome,
                        "events": [
                            {"state": e.state.value, "reason": e.reason, "at": _iso(e.at)}
                            for e in events
                            if e.presave_id == p.id
                        ],
                    }
                    for p in presaves
                ],
                "consents": [
                    {
                        "kind": c.kind.value,
                        "service": c.service,
                        "granted": c.granted,
                        "scopes": c.scopes,
                        "consent_text_id": str(c.consent_text_id) if c.consent_text_id else None,
                        "ip_hash": c.ip_hash,
                        "user_agent": c.user_agent,
                        "at": _iso(c.at),
                    }
                    for c in await repository.consents_of_fan(fan.id)
                ],
                "messages": [
                    {
                        "channel": m.channel.value,
                        "kind": m.kind.value,
                        "send_at": _iso(m.send_at),
                        "state": m.state.value,
                    }
                    for m in await MessagingRepository(session).messages_of_fan(fan.id)
                ],
            }
        )
    return {
        "fans": exported,
        "unconfirmed_addresses": [
            {
                "email": contact.email,
                "link_id": str(contact.link_id),
                "purpose": contact.purpose.value,
                "created_at": _iso(contact.created_at),
                "expires_at": _iso(contact.expires_at),
            }
            for contact in unconfirmed
        ],
    }


async def delete_fan_data(
    session: AsyncSession, workspace_id: UUID, lookup: FanLookup
) -> FanDeleted:
    """Erase the fan(s): tokens, pre-saves, consents, reminders and contact details, and
    every address typed but not confirmed (or magic link not used) that matches theirs or
    the one looked up."""
    fans = await find_fans(session, workspace_id, lookup)
    return await _erase(session, workspace_id, fans, _lookup_email(lookup))


async def delete_fan_by_id(session: AsyncSession, workspace_id: UUID, fan_id: UUID) -> FanDeleted:
    """Erase one fan of the workspace picked from the dashboard's list, as
    :func:`delete_fan_data` does (another workspace's fan is not found)."""
    fan = await PresaveRepository(session).fan(workspace_id, fan_id)
    if fan is None:
        raise NotFound("no such fan in this workspace")
    return await _erase(session, workspace_id, [fan], None)


async def _erase(
    session: AsyncSession, workspace_id: UUID, fans: list[Fan], looked_up: str | None
) -> FanDeleted:
    repository = PresaveRepository(session)
    addresses = {fan.email for fan in fans if fan.email} | ({looked_up} if looked_up else set())
    erased = 0
    for address in sorted(addresses):
        erased += await repository.delete_pending_contacts(workspace_id, address)
        erased += await repository.delete_unused_magic_links(workspace_id, address)
    if not fans and not erased:
        raise _not_found()
    presaves = grants = 0
    for fan in fans:
        presaves += len(await repository.presaves_of_fan(fan.id))
        grants += len(await repository.grants_of_fan(fan.id))
        await repository.delete_fan(fan)
    return FanDeleted(fans_deleted=len(fans), presaves_deleted=presaves, grants_deleted=grants)


def contacts_csv(database: Database, link_id: UUID) -> AsyncIterator[bytes]:
    """CSV of the link's fans who consented to be contacted, streamed in batches."""
    return consenting_csv(
        database, lambda session: PresaveRepository(session).stream_contacts(link_id)
    )


async def consenting_csv(
    database: Database, fans: Callable[[AsyncSession], AsyncIterator[Fan]]
) -> AsyncIterator[bytes]:
    """CSV of the fans ``fans`` streams (in its own session, so a long export holds no
    request transaction).

    A value is written only under its own consent: the email only with email consent,
    the phone only with SMS consent; a fan with neither is skipped even if streamed.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode()
    async with database.sessionmaker() as session:
        async for fan in fans(session):
            if fan.email_consent_at is None and fan.sms_consent_at is None:
                continue
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(
                (
                    _safe_cell(fan.email) if fan.email_consent_at else "",
                    (fan.phone or "") if fan.sms_consent_at else "",  # E.164: digits only
                    fan.country or "",
                    fan.language or "",
                    _iso(fan.email_consent_at) or "",
                    _iso(fan.sms_consent_at) or "",
                )
            )
            yield buffer.getvalue().encode()


def _safe_cell(value: str | None) -> str:
    # A cell starting with = + - @ runs as a formula in spreadsheet apps (CSV injection).
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
