"""Consent wording, its immutable versions, and the consent ledger.

The fan sees either the operator's own text for the campaign or launchlink's default
wording translated into the fan's language. Whatever was shown is stored as a
:class:`ConsentText` version (created on first use) and referenced by the ledger row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.kit.clock import Clock
from launchlink.kit.crypto import keyed_hash
from launchlink.models import Campaign, ConsentRecord, ConsentText
from launchlink.models.presave import ConsentKind
from launchlink.presave.i18n import N_
from launchlink.presave.repository import PresaveRepository

MAX_USER_AGENT = 500

DEFAULT_TEXTS: dict[ConsentKind, str] = {
    ConsentKind.connect_service: N_(
        "By continuing I let this site use my account on this service for the actions "
        "listed here, now and at release. I can revoke this at any time with the link on "
        "the confirmation page and in every email."
    ),
    # Marketing consent: it also covers this release's reminders, but a fan can ask for
    # those alone (``email_reminder``) without agreeing to hear about anything else.
    ConsentKind.email: N_(
        "Email me about this artist's future releases and news. I can unsubscribe at any time."
    ),
    ConsentKind.sms: N_(
        "Text me about this artist's future releases and news. "
        "Message and data rates may apply. Reply STOP to opt out."
    ),
    ConsentKind.future_releases: N_(
        "Also save this artist's future releases to my library with the same sign-in, "
        "until I revoke it."
    ),
    ConsentKind.email_reminder: N_(
        "Email me about this release only: the day before, when it is out and whether my "
        "pre-save worked. Nothing else. I can unsubscribe at any time."
    ),
    ConsentKind.sms_reminder: N_(
        "Text me about this release only: the day before and when it is out. Nothing else. "
        "Message and data rates may apply. Reply STOP to opt out."
    ),
}

Translate = Callable[[str], str]


async def shown_text(
    session: AsyncSession, campaign: Campaign | None, kind: ConsentKind, translate: Translate
) -> tuple[str, UUID | None]:
    """The wording shown to the fan and, when it is the operator's, its version id."""
    if campaign is not None:
        text_id = campaign.consent_text_ids.get(kind.value)
        if isinstance(text_id, str):
            row = await PresaveRepository(session).consent_text(UUID(text_id))
            if row is not None:
                return row.text, row.id
    return translate(DEFAULT_TEXTS[kind]), None


async def ensure_version(
    session: AsyncSession, workspace_id: UUID, kind: ConsentKind, language: str, text: str
) -> ConsentText:
    """The stored version of exactly this wording, created as the next version if new."""
    versions = await PresaveRepository(session).consent_texts(workspace_id, kind)
    for version in versions:
        if version.text == text and version.language == language:
            return version
    row = ConsentText(
        workspace_id=workspace_id,
        kind=kind,
        version=(versions[-1].version + 1) if versions else 1,
        language=language,
        text=text,
    )
    await PresaveRepository(session).add(row)
    return row


async def text_version_for(
    session: AsyncSession,
    campaign: Campaign | None,
    workspace_id: UUID,
    kind: ConsentKind,
    language: str,
    translate: Translate,
) -> ConsentText:
    text, text_id = await shown_text(session, campaign, kind, translate)
    if text_id is not None:
        row = await PresaveRepository(session).consent_text(text_id)
        if row is not None:
            return row
    return await ensure_version(session, workspace_id, kind, language, text)


def hash_ip(secret_key: str, ip: str | None) -> str | None:
    """Never the raw address: a keyed hash that needs the instance secret to compute."""
    return keyed_hash(secret_key, ip) if ip else None


async def record_consent(
    session: AsyncSession,
    *,
    clock: Clock,
    workspace_id: UUID,
    fan_id: UUID,
    kind: ConsentKind,
    text: ConsentText,
    ip_hash: str | None,
    user_agent: str | None,
    service: str | None = None,
    scopes: Sequence[str] = (),
    presave_id: UUID | None = None,
    granted: bool = True,
) -> ConsentRecord:
    record = ConsentRecord(
        workspace_id=workspace_id,
        fan_id=fan_id,
        presave_id=presave_id,
        kind=kind,
        service=service,
        granted=granted,
        scopes=list(scopes),
        consent_text_id=text.id,
        ip_hash=ip_hash,
        user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
        at=clock.now(),
    )
    await PresaveRepository(session).add(record)
    return record
