"""Pre-save actions: connecting a service, reminders, magic links, revoke; and the
functions the fulfilment engine calls. Services never commit (see launchlink.db).

Fulfilment engine API (all take the caller's session; the caller commits):

* :func:`grant_tokens` — the decrypted :class:`TokenSet` of a grant;
* :func:`store_refreshed_tokens` — persist a refreshed (possibly rotated) set; commit it
  BEFORE using the new tokens (rotated refresh tokens are single-use);
* :func:`transition` — move a pre-save to a new state, recording a ``PresaveEvent``;
* :func:`forget_tokens_after_fulfilment` — delete the tokens of a finished pre-save's grant
  unless the fan opted into future releases or another open pre-save still needs them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.catalog.repository import ArtistRepository
from launchlink.connectors.base import Capability, Connector, PlatformAccount, TokenSet
from launchlink.connectors.errors import ConnectorError
from launchlink.connectors.registry import app_client_id
from launchlink.events import (
    ContactConfirmationRequested,
    MagicLinkRequested,
    PresaveCreated,
    PresaveReceiptDue,
    PresaveRevoked,
    about_presave,
    emit,
)
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher, keyed_hash
from launchlink.links.phase import Phase, ReleaseZones
from launchlink.messaging.planner import cancel_presave_messages, plan_fan
from launchlink.models import (
    Campaign,
    ConsentRecord,
    ConsentText,
    Fan,
    Link,
    MagicLink,
    OAuthAttempt,
    Presave,
    PresaveEvent,
    Release,
    ServiceGrant,
)
from launchlink.models.presave import (
    ANY_SERVICE,
    ConsentKind,
    ContactPurpose,
    FollowTiming,
    PendingContact,
    PresaveState,
    ServiceMode,
)
from launchlink.presave import consent
from launchlink.presave.errors import (
    AlreadyConfirmed,
    InvalidContact,
    LinkExpired,
    LinkInvalid,
    NotBeforeRelease,
    OAuthStateRefused,
    TokensGone,
)
from launchlink.presave.modes import APPLE_MUSIC, ConnectorSource, WorkspaceConnectors
from launchlink.presave.repository import PresaveRepository
from launchlink.presave.timing import fan_phase, fan_release_instant, fan_zone_name, timing_of
from launchlink.web.security import BadSignature, Signer, new_secret_token, token_hash

OAUTH_ATTEMPT_LIFETIME = timedelta(minutes=30)
MAGIC_LINK_LIFETIME = timedelta(hours=24)
CONFIRMATION_LIFETIME = timedelta(days=30)
PLAYLIST_CHOICE_LIFETIME = timedelta(days=1)
CONTACT_CONFIRMATION_LIFETIME = timedelta(days=7)
"""``Presave.service`` of a reminder the fan asked for without choosing a service."""

_EMAIL = re.compile(r"^[^@\s\"<>,;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251})\.[A-Za-z]{2,63}$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_PHONE_NOISE = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class PresaveKit:
    """What the pre-save flows need from the process (built once at start-up)."""

    cipher: TokenCipher
    signer: Signer
    connectors: ConnectorSource
    clock: Clock
    secret_key: str
    territories: ReleaseZones
    apps: WorkspaceConnectors | None = None
    """A workspace's own service apps; None: every workspace uses the instance's."""

    async def connectors_for(self, workspace_id: UUID | None) -> ConnectorSource:
        """The connectors ``workspace_id``'s pre-saves use (its own apps where it has them)."""
        if self.apps is None:
            return self.connectors
        return await self.apps.source(workspace_id)


# -- input -----------------------------------------------------------------------------


def normalise_email(raw: str | None) -> str | None:
    """Lower-cased address, or None when empty; :class:`InvalidContact` when malformed."""
    text = (raw or "").strip()
    if not text:
        return None
    if len(text) > 254 or not _EMAIL.fullmatch(text) or ".." in text:
        raise InvalidContact("enter a valid email address, like name@example.com", field="email")
    return text.lower()


def normalise_phone(raw: str | None) -> str | None:
    """E.164 (``+14155550123``), or None when empty; :class:`InvalidContact` when not."""
    text = _PHONE_NOISE.sub("", (raw or "").strip())
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _E164.fullmatch(text):
        raise InvalidContact(
            "enter your mobile number in international form, like +44 7700 900123",
            field="phone",
        )
    return text


@dataclass(frozen=True)
class FanChoices:
    """What the fan chose on the page, carried through the OAuth round trip."""

    language: str = "en"
    email: str | None = None
    email_consent: bool = False
    """Marketing by email (the artist's future releases and news; this release too)."""
    email_reminder: bool = False
    """This release's reminders by email, nothing else (choices made before migration 0023
    lack it: their ``email_consent`` keeps its old meaning, marketing and reminders)."""
    phone: str | None = None
    sms_consent: bool = False
    sms_reminder: bool = False
    future_consent: bool = False
    country: str | None = None
    chosen_zone: str | None = None
    in_app: str | None = None
    ip_hash: str | None = None
    user_agent: str | None = None
    resume_magic_id: str | None = None
    """The magic link this browser came back with (its signed resume cookie)."""
    consent_text_ids: dict[str, str] = field(default_factory=dict)
    """ConsentKind value → the ConsentText version shown when the fan ticked the box (kept
    while an address waits for its confirmation, so the ledger records what was shown)."""

    @property
    def wants_email(self) -> bool:
        """An address given with one of its boxes (reminder, marketing) ticked."""
        return bool(self.email and (self.email_consent or self.email_reminder))

    @property
    def wants_sms(self) -> bool:
        return bool(self.phone and (self.sms_consent or self.sms_reminder))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FanChoices:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def contact_choices(
    *,
    email: str | None,
    email_consent: bool,
    phone: str | None,
    sms_consent: bool,
    require_one: bool,
) -> tuple[str | None, str | None]:
    """Validated (email, phone) the fan consented to share; unticked boxes drop the value.

    ``email_consent`` / ``sms_consent`` here: any box of that channel ticked (reminder or
    marketing). A ticked box needs its value; ``require_one`` (reminders) needs at least
    one channel.
    """
    checked_email = normalise_email(email) if email_consent else None
    checked_phone = normalise_phone(phone) if sms_consent else None
    if email_consent and checked_email is None:
        raise InvalidContact("enter the email address to use", field="email")
    if sms_consent and checked_phone is None:
        raise InvalidContact("enter the mobile number to use", field="phone")
    if require_one and checked_email is None and checked_phone is None:
        raise InvalidContact(
            "enter an email address (or a mobile number) and tick its box", field="email"
        )
    return checked_email, checked_phone


# -- what a campaign asks of a service ---------------------------------------------------


async def artist_ids_on(
    session: AsyncSession, campaign: Campaign, service: str
) -> tuple[list[str], list[str]]:
    """(artist ids, playlist ids) to follow on ``service`` for this campaign."""
    artists = await ArtistRepository(session).get_many(
        campaign.workspace_id, [UUID(str(x)) for x in campaign.follow_artist_ids]
    )
    artist_ids = [str(a.service_ids[service]) for a in artists if a.service_ids.get(service)]
    playlist_ids: list[str] = []
    for extra in campaign.extra_follows:
        if not isinstance(extra, dict) or extra.get("service") != service:
            continue
        target = str(extra.get("id", ""))
        if not target:
            continue
        (artist_ids if extra.get("kind") == "artist" else playlist_ids).append(target)
    action = campaign.playlist_action or {}
    if action.get("mode") == "follow" and action.get("service") == service and action.get("id"):
        playlist_ids.append(str(action["id"]))
    return list(dict.fromkeys(artist_ids)), list(dict.fromkeys(playlist_ids))


FAN_CHOICE_PENDING = "pending"
FAN_CHOICE_MADE = "chosen"
MAX_PLAYLIST_NAME = 100


async def planned_actions(
    session: AsyncSession,
    campaign: Campaign,
    service: str,
    mode: ServiceMode,
    *,
    connector: Connector | None = None,
    release_title: str = "",
) -> dict[str, Any]:
    """What the fan is promised on ``service`` (stored on the pre-save as ``actions``).

    "Add to the fan's chosen playlist" is stored as its fallback, a new playlist named
    after the campaign, marked ``fan_choice: pending`` while the fan has not chosen (only
    where the connector can list the fan's playlists; elsewhere the fallback is final).
    """
    artists, playlists = await artist_ids_on(session, campaign, service)
    action = campaign.playlist_action or {}
    playlist: dict[str, Any] | None = None
    if action.get("service") == service and action.get("mode") in (
        "add_to_fan_playlist",
        "add_to_new_playlist",
    ):
        playlist = {key: action[key] for key in ("mode", "id", "name") if key in action}
        if action["mode"] == "add_to_fan_playlist":
            playlist = {
                "mode": "add_to_new_playlist",
                "name": str(action.get("name") or release_title or "launchlink")[
                    :MAX_PLAYLIST_NAME
                ],
            }
            if connector is not None and Capability.PLAYLIST_READ in connector.capabilities:
                playlist["fan_choice"] = FAN_CHOICE_PENDING
    planned: dict[str, Any] = {
        "save_release": campaign.save_release,
        "follow_artists": artists,
        "follow_playlists": playlists,
        "follow_timing": campaign.follow_timing.value,
        "playlist": playlist,
    }
    if mode is ServiceMode.preadd and campaign.apple_preorder_album_id:
        planned["preadd_album_id"] = campaign.apple_preorder_album_id
    return planned


def playlist_choice_pending(actions: dict[str, Any]) -> bool:
    playlist = actions.get("playlist") or {}
    return bool(playlist.get("fan_choice") == FAN_CHOICE_PENDING)


def capabilities_for(actions: dict[str, Any]) -> list[Capability]:
    needed: list[Capability] = []
    if actions.get("save_release") or actions.get("preadd_album_id"):
        needed.append(Capability.SAVE_RELEASE)
    if actions.get("follow_artists"):
        needed.append(Capability.FOLLOW_ARTIST)
    if actions.get("follow_playlists"):
        needed.append(Capability.PLAYLIST_FOLLOW)
    if actions.get("playlist"):
        needed.append(Capability.PLAYLIST_ADD)
    if playlist_choice_pending(actions):
        needed.append(Capability.PLAYLIST_READ)
    return needed


def scopes_for(connector: Connector, actions: dict[str, Any]) -> list[str]:
    wanted = [c for c in capabilities_for(actions) if c in connector.capabilities]
    return connector.scopes_for(wanted)


# -- connecting a service ----------------------------------------------------------------


def ensure_presave_phase(
    kit: PresaveKit, release: Release, campaign: Campaign | None, choices: FanChoices
) -> None:
    phase = fan_phase(
        timing_of(release, campaign),
        country=choices.country,
        now=kit.clock.now(),
        territories=kit.territories,
        chosen_zone=choices.chosen_zone,
    )
    if phase is not Phase.PRESAVE or campaign is None or not campaign.enabled:
        raise NotBeforeRelease("pre-saves are not open for this release right now")


@dataclass(frozen=True)
class ConnectStart:
    attempt: OAuthAttempt
    state: str
    code_verifier: str


async def start_attempt(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    link: Link,
    service: str,
    browser_id: str,
    code_verifier: str,
    choices: FanChoices,
) -> ConnectStart:
    """Record an OAuth round trip (its ``state`` bound to this browser) before redirecting."""
    state = new_secret_token()
    attempt = OAuthAttempt(
        workspace_id=link.workspace_id,
        link_id=link.id,
        service=service,
        state_hash=token_hash(state),
        browser_hash=kit.signer.browser_hash(browser_id),
        code_verifier=kit.cipher.encrypt(code_verifier),
        context=choices.to_json(),
        started_at=kit.clock.now(),
    )
    await PresaveRepository(session).add(attempt)
    return ConnectStart(attempt=attempt, state=state, code_verifier=code_verifier)


async def claim_attempt(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    state: str,
    browser_id: str | None,
    service: str | None = None,
) -> OAuthAttempt:
    """The attempt this callback finishes, claimed once; :class:`OAuthStateRefused` if not.

    Claiming marks it completed atomically, so a replayed (or concurrent) callback with
    the same state is refused.
    """
    repository = PresaveRepository(session)
    attempt = await repository.attempt_by_state(token_hash(state)) if state else None
    if attempt is None or (service is not None and attempt.service != service):
        raise OAuthStateRefused("unknown")
    if browser_id is None or kit.signer.browser_hash(browser_id) != attempt.browser_hash:
        raise OAuthStateRefused("foreign_browser")
    if attempt.completed_at is not None:
        raise OAuthStateRefused("replayed")
    now = kit.clock.now()
    if now - attempt.started_at > OAUTH_ATTEMPT_LIFETIME:
        raise OAuthStateRefused("expired")
    if not await repository.claim_attempt(attempt.id, now):
        raise OAuthStateRefused("replayed")
    await repository.reload(attempt)
    return attempt


async def finish_attempt(session: AsyncSession, attempt_id: UUID, outcome: str) -> None:
    attempt = await PresaveRepository(session).attempt(attempt_id)
    if attempt is not None:
        attempt.outcome = outcome
        await session.flush()


def code_verifier_of(kit: PresaveKit, attempt: OAuthAttempt) -> str:
    return kit.cipher.decrypt(attempt.code_verifier)


@dataclass
class Connected:
    fan: Fan
    grant: ServiceGrant
    presave: Presave
    created: bool
    pending: PendingStart | None = None
    """The address typed with this pre-save, when it still has to be confirmed."""


def account_key(kit: PresaveKit, service: str, account: PlatformAccount, tokens: TokenSet) -> str:
    if account.id:
        return account.id
    # Apple exposes no account id: a keyed hash of the token is the best stable key we have
    # (a new Music-User-Token for the same fan is a new key; documented in docs/presave.md).
    return "token:" + keyed_hash(kit.secret_key, f"{service}:{tokens.access_token}")[:40]


async def _proven_fan(
    session: AsyncSession,
    workspace_id: UUID,
    *,
    grant: ServiceGrant | None,
    resume_magic_id: str | None,
    browser_hash: str | None,
) -> Fan | None:
    """The fan this session proved it is, or None: the owner of the service account it
    just signed in with, the address of the emailed link it came back with, or the fan of
    the pre-saves this browser made. Never a fan found by a typed address."""
    repository = PresaveRepository(session)
    if grant is not None:
        fan = await repository.fan(workspace_id, grant.fan_id)
        if fan is not None:
            return fan
    if resume_magic_id is not None:
        try:
            magic = await repository.magic_link_by_id(workspace_id, UUID(resume_magic_id))
        except ValueError:
            magic = None
        if magic is not None:
            found = await _fan_of_magic_link(session, magic)
            if found is not None:
                return found
    if browser_hash is not None:
        return await repository.fan_of_browser(workspace_id, browser_hash)
    return None


async def _fan_of_magic_link(session: AsyncSession, magic: MagicLink) -> Fan | None:
    """The fan an opened magic link proved: the holder of its address, or a new fan with it
    (links made before migration 0005 name their fan)."""
    repository = PresaveRepository(session)
    if magic.fan_id is not None:
        return await repository.fan(magic.workspace_id, magic.fan_id)
    if magic.email is None:
        return None
    fan = await repository.fan_by_email(magic.workspace_id, magic.email)
    if fan is None:
        # Proven by the link; no marketing consent is implied or recorded.
        fan = Fan(
            workspace_id=magic.workspace_id,
            email=magic.email,
            language=str(magic.context.get("language") or "en"),
        )
        await repository.add(fan)
    magic.fan_id = fan.id
    await session.flush()
    return fan


async def _new_fan(session: AsyncSession, workspace_id: UUID) -> Fan:
    fan = Fan(workspace_id=workspace_id)
    await PresaveRepository(session).add(fan)
    return fan


def _email_proven(fan: Fan, choices: FanChoices) -> bool:
    """The fan gave an address with a box ticked, and it is the address they proved."""
    return choices.wants_email and fan.email == choices.email


def _apply_choices(fan: Fan, choices: FanChoices, *, now: datetime) -> None:
    # The email address is never set from what was typed: only a confirmed link sets it.
    # Fan-level consent is marketing only: a reminder-only choice lives on the pre-saves of
    # that release (:func:`_grant_reminders`), so it never reaches another release.
    if choices.wants_sms:
        fan.phone = choices.phone
        if choices.sms_consent:
            fan.sms_consent_at = now
    if _email_proven(fan, choices) and choices.email_consent:
        fan.email_consent_at = now
    fan.language = choices.language
    fan.country = choices.country or fan.country
    fan.time_zone = choices.chosen_zone or fan.time_zone


async def _grant_reminders(
    session: AsyncSession, fan: Fan, link_id: UUID, choices: FanChoices, *, now: datetime
) -> None:
    """Mark the fan's pre-saves of this link with the reminder-only channels chosen: the
    planner and the delivery worker send this release's release-day, countdown and receipt
    messages on them (docs/messaging.md, "Which consent a message needs")."""
    email = choices.email_reminder and _email_proven(fan, choices)
    sms = choices.sms_reminder and bool(choices.phone)
    if not (email or sms):
        return
    for presave in await PresaveRepository(session).presaves_of_fan(fan.id, link_id=link_id):
        if email and presave.email_reminder_at is None:
            presave.email_reminder_at = now
        if sms and presave.sms_reminder_at is None:
            presave.sms_reminder_at = now
    await session.flush()


async def _consent_text(
    session: AsyncSession,
    campaign: Campaign | None,
    workspace_id: UUID,
    kind: ConsentKind,
    choices: FanChoices,
    translate: consent.Translate,
) -> ConsentText:
    shown = choices.consent_text_ids.get(kind.value)
    if shown:
        try:
            row = await PresaveRepository(session).consent_text(UUID(shown))
        except ValueError:
            row = None
        if row is not None:
            return row
    return await consent.text_version_for(
        session, campaign, workspace_id, kind, choices.language, translate
    )


@dataclass(frozen=True)
class PendingStart:
    """A typed address waiting for its confirmation; ``token`` goes into the email only."""

    contact: PendingContact
    token: str


async def _start_pending_contact(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    link: Link,
    campaign: Campaign | None,
    purpose: ContactPurpose,
    email: str,
    browser_hash: str,
    fan_id: UUID | None,
    presave_id: UUID | None,
    choices: FanChoices,
    service: str | None,
    translate: consent.Translate,
) -> PendingStart:
    """Keep ``email`` aside until its owner confirms it. Nothing here reads who else may
    hold the address, so the typing browser sees the same thing for every address."""
    repository = PresaveRepository(session)
    kinds = [
        kind
        for kind, ticked in (
            (ConsentKind.email, choices.email_consent),
            (ConsentKind.email_reminder, choices.email_reminder),
        )
        if ticked
    ]
    if purpose is ContactPurpose.reminder and choices.phone:
        if choices.sms_consent:
            kinds.append(ConsentKind.sms)
        if choices.sms_reminder:
            kinds.append(ConsentKind.sms_reminder)
    shown = {
        kind.value: str(
            (await _consent_text(session, campaign, link.workspace_id, kind, choices, translate)).id
        )
        for kind in kinds
    }
    kept = dataclasses.replace(choices, consent_text_ids={**choices.consent_text_ids, **shown})
    token = new_secret_token()
    now = kit.clock.now()
    await repository.purge_unconfirmed_contacts(now - timedelta(days=1))
    contact = PendingContact(
        workspace_id=link.workspace_id,
        link_id=link.id,
        email=email,
        purpose=purpose,
        token_hash=token_hash(token),
        browser_hash=browser_hash,
        fan_id=fan_id,
        presave_id=presave_id,
        context={**kept.to_json(), "service": service},
        created_at=now,
        expires_at=now + CONTACT_CONFIRMATION_LIFETIME,
    )
    await repository.add(contact)
    # The opt-in email is messaging's, sent after commit through the outbox.
    await emit(
        session,
        ContactConfirmationRequested(
            occurred_at=now,
            workspace_id=link.workspace_id,
            contact_id=contact.id,
            link_id=link.id,
            language=choices.language,
            sealed_token=kit.cipher.encrypt(token).decode("ascii"),
        ),
    )
    return PendingStart(contact=contact, token=token)


async def _record_opt_ins(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    campaign: Campaign | None,
    fan: Fan,
    choices: FanChoices,
    translate: consent.Translate,
    presave_id: UUID | None,
    service: str | None,
) -> None:
    proven = _email_proven(fan, choices)
    opted = [
        (ConsentKind.email, proven and choices.email_consent),
        (ConsentKind.email_reminder, proven and choices.email_reminder),
        (ConsentKind.sms, choices.sms_consent and choices.phone is not None),
        (ConsentKind.sms_reminder, choices.sms_reminder and choices.phone is not None),
        (ConsentKind.future_releases, choices.future_consent and service is not None),
    ]
    for kind, given in opted:
        if not given:
            continue
        text = await _consent_text(session, campaign, fan.workspace_id, kind, choices, translate)
        await consent.record_consent(
            session,
            clock=kit.clock,
            workspace_id=fan.workspace_id,
            fan_id=fan.id,
            kind=kind,
            text=text,
            ip_hash=choices.ip_hash,
            user_agent=choices.user_agent,
            service=service if kind is ConsentKind.future_releases else None,
            presave_id=presave_id,
        )


async def record_connection(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    attempt: OAuthAttempt,
    mode: ServiceMode,
    tokens: TokenSet,
    account: PlatformAccount,
    translate: consent.Translate,
    connector: Connector | None = None,
) -> Connected:
    """Store the grant (encrypted), the pre-save and the consent ledger rows.

    The same service account pre-saving the same link again gets its pre-save back.
    """
    repository = PresaveRepository(session)
    found = await repository.link_with_release(attempt.link_id)
    if found is None:
        raise LinkInvalid("this link no longer exists")
    link, release = found
    campaign = await repository.campaign(link.id)
    choices = FanChoices.from_json(attempt.context)
    service = attempt.service
    account_id = account_key(kit, service, account, tokens)
    grant = await repository.grant(link.workspace_id, service, account_id)
    fan = await _proven_fan(
        session,
        link.workspace_id,
        grant=grant,
        resume_magic_id=choices.resume_magic_id,
        browser_hash=attempt.browser_hash,
    ) or await _new_fan(session, link.workspace_id)
    _apply_choices(fan, choices, now=kit.clock.now())
    if grant is None:
        grant = ServiceGrant(
            workspace_id=link.workspace_id, fan_id=fan.id, service=service, account_id=account_id
        )
        await repository.add(grant)
    store_refreshed_tokens(grant, tokens, kit.cipher)
    grant.scopes = list(tokens.scopes)
    grant.revoked_at = None
    grant.revoked_reason = None
    # The app these tokens belong to: fulfilment refreshes and uses them with it only.
    grant.app_client_id = app_client_id(connector)
    if service == APPLE_MUSIC and account.country:
        grant.storefront = account.country.lower()
    if choices.future_consent:
        grant.standing = True
        artist_ids = [str(credit.artist_id) for credit in release.artist_links]
        grant.standing_artist_ids = list(dict.fromkeys([*grant.standing_artist_ids, *artist_ids]))
    await session.flush()

    country = choices.country or account.country
    timing = timing_of(release, campaign)
    presave = await repository.presave_for_grant(link.id, service, grant.id)
    created = False
    if presave is None:
        actions = (
            await planned_actions(
                session, campaign, service, mode, connector=connector, release_title=release.title
            )
            if campaign
            else {}
        )
        presave = Presave(
            workspace_id=link.workspace_id,
            link_id=link.id,
            release_id=release.id,
            fan_id=fan.id,
            service=service,
            mode=mode,
            grant_id=grant.id,
            state=PresaveState.waiting,
            country=country,
            time_zone=fan_zone_name(timing, country, kit.territories, choices.chosen_zone),
            due_at=fan_release_instant(timing, country, kit.territories, choices.chosen_zone),
            actions=actions,
            outcome={},
            browser_hash=attempt.browser_hash,
        )
        await repository.add(presave)
        await _event(session, kit.clock, presave, PresaveState.waiting, "pre-saved")
        await _emit_created(session, kit.clock, presave)
        created = True
    else:
        presave.browser_hash = attempt.browser_hash
        if presave.state is PresaveState.cancelled:
            await transition(
                session, presave, PresaveState.waiting, clock=kit.clock, reason="again"
            )
            presave.finished_at = None
            presave.final_reason = None
    await _grant_reminders(session, fan, link.id, choices, now=kit.clock.now())
    pending = None
    if choices.wants_email and choices.email and not _email_proven(fan, choices):
        pending = await _start_pending_contact(
            session,
            kit,
            link=link,
            campaign=campaign,
            purpose=ContactPurpose.contact,
            email=choices.email,
            browser_hash=attempt.browser_hash,
            fan_id=fan.id,
            presave_id=presave.id,
            choices=choices,
            service=service,
            translate=translate,
        )
    if created or choices.wants_email or choices.wants_sms or choices.future_consent:
        connect_text = await consent.text_version_for(
            session,
            campaign,
            link.workspace_id,
            ConsentKind.connect_service,
            choices.language,
            translate,
        )
        await consent.record_consent(
            session,
            clock=kit.clock,
            workspace_id=link.workspace_id,
            fan_id=fan.id,
            kind=ConsentKind.connect_service,
            text=connect_text,
            ip_hash=choices.ip_hash,
            user_agent=choices.user_agent,
            service=service,
            scopes=tokens.scopes,
            presave_id=presave.id,
        )
        await _record_opt_ins(
            session,
            kit,
            campaign=campaign,
            fan=fan,
            choices=choices,
            translate=translate,
            presave_id=presave.id,
            service=service,
        )
    if pending is None and created and fan.email and choices.email == fan.email:
        await _receipt_due(session, kit.clock, fan=fan, link_id=link.id, language=choices.language)
    attempt.outcome = "approved"
    await session.flush()
    return Connected(fan=fan, grant=grant, presave=presave, created=created, pending=pending)


async def consent_time_actions(
    connector: Connector, tokens: TokenSet, actions: dict[str, Any], mode: ServiceMode
) -> list[dict[str, Any]]:
    """Run what the campaign wants done right after consent (follows, Apple pre-add).

    Network calls: run outside any transaction, then store with
    :func:`record_consent_time_outcomes`. A failure is recorded, never raised: the
    pre-save itself stands.
    """
    outcomes: list[dict[str, Any]] = []

    async def attempt(name: str, targets: Sequence[str], call: Any) -> None:
        try:
            await call
        except ConnectorError as error:
            outcomes.append(
                {
                    "action": name,
                    "targets": list(targets),
                    "status": "failed",
                    "reason": type(error).__name__,
                }
            )
            return
        outcomes.append({"action": name, "targets": list(targets), "status": "done"})

    if actions.get("follow_timing") == FollowTiming.consent.value:
        artists = list(actions.get("follow_artists") or [])
        if artists and Capability.FOLLOW_ARTIST in connector.capabilities:
            await attempt(
                "follow_artists", artists, connector.follow_artists(tokens, artist_ids=artists)
            )
        for playlist_id in actions.get("follow_playlists") or []:
            if Capability.PLAYLIST_FOLLOW in connector.capabilities:
                await attempt(
                    "follow_playlist",
                    [playlist_id],
                    connector.follow_playlist(tokens, playlist_id=playlist_id),
                )
    album_id = actions.get("preadd_album_id")
    if mode is ServiceMode.preadd and album_id:
        await attempt("preadd", [album_id], connector.preadd(tokens, album_id=album_id))
    return outcomes


async def record_consent_time_outcomes(
    session: AsyncSession, presave_id: UUID, outcomes: list[dict[str, Any]]
) -> None:
    if not outcomes:
        return
    presave = await PresaveRepository(session).presave(presave_id)
    if presave is None:
        return
    presave.outcome = {**presave.outcome, "consent_time": outcomes}
    await session.flush()


def playlist_token(kit: PresaveKit, presave: Presave, browser_hash: str) -> str:
    """Signed link to the playlist chooser of one pre-save, for the browser that made it
    (a day: it follows the sign-in). It lists the fan's playlists: no other browser may."""
    return kit.signer.sign(
        "playlist",
        {
            "p": str(presave.id),
            "f": str(presave.fan_id),
            "l": str(presave.link_id),
            "b": browser_hash,
        },
        expires_at=kit.clock.now() + PLAYLIST_CHOICE_LIFETIME,
    )


@dataclass(frozen=True)
class PlaylistToken:
    presave_id: UUID
    fan_id: UUID
    link_id: UUID
    browser_hash: str


def read_playlist_token(kit: PresaveKit, token: str) -> PlaylistToken:
    """What a chooser link names; LinkInvalid / LinkExpired if it is not a valid one."""
    payload = _unsign(kit, "playlist", token)
    try:
        return PlaylistToken(
            presave_id=UUID(str(payload["p"])),
            fan_id=UUID(str(payload["f"])),
            link_id=UUID(str(payload["l"])),
            browser_hash=str(payload["b"]),
        )
    except (KeyError, ValueError):
        raise LinkInvalid("this link is not valid") from None


_PLAYLIST_ID = re.compile(r"^[A-Za-z0-9:_-]{1,200}$")


async def presave_awaiting_playlist(
    session: AsyncSession, *, presave_id: UUID, fan_id: UUID, link_id: UUID
) -> Presave | None:
    """The pre-save whose playlist the fan may still choose, or None (chosen, finished,
    revoked, or not this fan's)."""
    presave = await PresaveRepository(session).presave(presave_id)
    if presave is None or presave.fan_id != fan_id or presave.link_id != link_id:
        raise LinkInvalid("this link is not valid")
    if presave.state is not PresaveState.waiting or not playlist_choice_pending(presave.actions):
        return None
    return presave


async def choose_playlist(
    session: AsyncSession,
    *,
    presave_id: UUID,
    fan_id: UUID,
    link_id: UUID,
    playlist_id: str | None,
    new_name: str | None,
) -> bool:
    """Store the fan's choice: one of their playlists (``playlist_id``) or a new playlist
    (``new_name``, blank keeps the campaign's name). False when there is nothing to choose
    any more. The id is not checked with the service here: a playlist the fan cannot add to
    fails at release for this fan only, with its reason."""
    presave = await presave_awaiting_playlist(
        session, presave_id=presave_id, fan_id=fan_id, link_id=link_id
    )
    if presave is None:
        return False
    current = dict(presave.actions.get("playlist") or {})
    if playlist_id is not None:
        if not _PLAYLIST_ID.fullmatch(playlist_id):
            raise InvalidContact("choose one of your playlists", field="playlist")
        chosen: dict[str, Any] = {
            "mode": "add_to_fan_playlist",
            "id": playlist_id,
            "playlist_id": playlist_id,
            "fan_choice": FAN_CHOICE_MADE,
        }
    else:
        name = " ".join((new_name or "").split())[:MAX_PLAYLIST_NAME] or current.get("name")
        chosen = {"mode": "add_to_new_playlist", "name": name, "fan_choice": FAN_CHOICE_MADE}
    # A new dict: the JSON column notices reassignment, not in-place edits.
    presave.actions = {**presave.actions, "playlist": chosen}
    await session.flush()
    return True


# -- reminders and magic links -----------------------------------------------------------


@dataclass
class ReminderSignup:
    fan: Fan
    presave: Presave
    created: bool = False


async def sign_up_for_reminder(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    link: Link,
    release: Release,
    campaign: Campaign | None,
    service: str | None,
    choices: FanChoices,
    browser_hash: str,
    translate: consent.Translate,
) -> ReminderSignup | PendingStart:
    """A release-day email and/or SMS routed to ``service``: a pre-save in ``reminder``
    mode, whose ``presave.created`` has messaging plan the fan's release-day (and
    countdown) messages on each channel the fan consented to (``messaging/planner.py``).

    With an address the fan has not proven in this session, nothing is scheduled yet: the
    address waits (:class:`PendingStart`) for the confirmation link emailed to it, and the
    sign-up takes effect when that link is confirmed (:func:`confirm_contact`).
    """
    ensure_presave_phase(kit, release, campaign, choices)
    if not choices.wants_email and not choices.wants_sms:
        raise InvalidContact("enter an email address or a mobile number", field="email")
    fan = await _proven_fan(
        session,
        link.workspace_id,
        grant=None,
        resume_magic_id=choices.resume_magic_id,
        browser_hash=browser_hash,
    )
    if choices.wants_email and choices.email and (fan is None or not _email_proven(fan, choices)):
        return await _start_pending_contact(
            session,
            kit,
            link=link,
            campaign=campaign,
            purpose=ContactPurpose.reminder,
            email=choices.email,
            browser_hash=browser_hash,
            fan_id=fan.id if fan is not None else None,
            presave_id=None,
            choices=choices,
            service=service,
            translate=translate,
        )
    if fan is None:
        fan = await _new_fan(session, link.workspace_id)
    _apply_choices(fan, choices, now=kit.clock.now())
    signup = await _schedule_reminder(
        session,
        kit,
        link=link,
        release=release,
        campaign=campaign,
        fan=fan,
        service=service,
        choices=choices,
        browser_hash=browser_hash,
        translate=translate,
    )
    if signup.created and _email_proven(fan, choices):
        await _receipt_due(session, kit.clock, fan=fan, link_id=link.id, language=choices.language)
    return signup


async def _schedule_reminder(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    link: Link,
    release: Release,
    campaign: Campaign | None,
    fan: Fan,
    service: str | None,
    choices: FanChoices,
    browser_hash: str,
    translate: consent.Translate,
) -> ReminderSignup:
    repository = PresaveRepository(session)
    key = service or ANY_SERVICE
    timing = timing_of(release, campaign)
    country = choices.country
    presave = await repository.reminder_presave(link.id, key, fan.id)
    created = presave is None
    if presave is None:
        presave = Presave(
            workspace_id=link.workspace_id,
            link_id=link.id,
            release_id=release.id,
            fan_id=fan.id,
            service=key,
            mode=ServiceMode.reminder,
            grant_id=None,
            state=PresaveState.waiting,
            country=country,
            time_zone=fan_zone_name(timing, country, kit.territories, choices.chosen_zone),
            due_at=fan_release_instant(timing, country, kit.territories, choices.chosen_zone),
            actions={"remind": True},
            outcome={},
            browser_hash=browser_hash,
        )
        await repository.add(presave)
        await _event(session, kit.clock, presave, PresaveState.waiting, "reminder requested")
        await _emit_created(session, kit.clock, presave)
        await _grant_reminders(session, fan, link.id, choices, now=kit.clock.now())
    else:
        presave.browser_hash = browser_hash
        if presave.state is PresaveState.cancelled:
            await transition(
                session, presave, PresaveState.waiting, clock=kit.clock, reason="again"
            )
        await _grant_reminders(session, fan, link.id, choices, now=kit.clock.now())
        # The same sign-up again, perhaps with a channel it did not have: planning
        # twice adds only what is new.
        await plan_fan(session, fan.id, now=kit.clock.now())
    await _record_opt_ins(
        session,
        kit,
        campaign=campaign,
        fan=fan,
        choices=choices,
        translate=translate,
        presave_id=presave.id,
        service=None,
    )
    return ReminderSignup(fan=fan, presave=presave, created=created)


@dataclass(frozen=True)
class ContactConfirmed:
    """What confirming a typed address did."""

    purpose: ContactPurpose
    fan_id: UUID
    link_id: UUID
    email: str
    language: str
    reminder: ReminderSignup | None
    """The reminder sign-up it put into effect (``reminder`` purpose)."""


async def pending_contact_for(session: AsyncSession, kit: PresaveKit, token: str) -> PendingContact:
    """The unconfirmed address behind a confirmation link; LinkInvalid, LinkExpired or
    AlreadyConfirmed when it cannot be confirmed (any more)."""
    contact = await PresaveRepository(session).pending_contact(token_hash(token)) if token else None
    if contact is None:
        raise LinkInvalid("this link is not valid")
    if contact.confirmed_at is not None:
        raise AlreadyConfirmed("this address is already confirmed")
    if kit.clock.now() >= contact.expires_at:
        raise LinkExpired("this link has expired; ask again on the pre-save page")
    return contact


async def confirm_contact(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    token: str,
    browser_hash: str,
    ip_hash: str | None,
    user_agent: str | None,
    translate: consent.Translate,
) -> ContactConfirmed:
    """The owner of a typed address confirmed it with the link we emailed (double opt-in).

    The link proves the address, not the session that typed it. So the address joins the
    fan who already proved it; failing that, the typing session's fan when the link is
    confirmed in that same browser (both proofs at once); failing that, a new fan. Consent
    is recorded now, with the wording shown when the box was ticked; a reminder sign-up
    takes effect now.
    """
    repository = PresaveRepository(session)
    contact = await pending_contact_for(session, kit, token)
    now = kit.clock.now()
    if not await repository.claim_pending_contact(contact.id, now):
        raise AlreadyConfirmed("this address is already confirmed")
    found = await repository.link_with_release(contact.link_id)
    if found is None:
        raise LinkInvalid("this link no longer exists")
    link, release = found
    campaign = await repository.campaign(link.id)
    choices = dataclasses.replace(
        FanChoices.from_json(contact.context), ip_hash=ip_hash, user_agent=user_agent
    )
    fan = await repository.fan_by_email(contact.workspace_id, contact.email)
    joined_typist = False
    if fan is None and contact.fan_id is not None and contact.browser_hash == browser_hash:
        typist = await repository.fan(contact.workspace_id, contact.fan_id)
        if typist is not None and typist.email is None:
            fan, joined_typist = typist, True
    if fan is None:
        fan = await _new_fan(session, contact.workspace_id)
        _apply_choices(fan, choices, now=now)
    elif joined_typist:
        _apply_choices(fan, choices, now=now)
    elif choices.wants_sms:
        fan.phone = choices.phone
        if choices.sms_consent:
            fan.sms_consent_at = now
    fan.email = contact.email
    # Marketing only when that box was ticked (contexts from before migration 0023 always
    # had it: their consent keeps its meaning); a reminder-only address is marked on the
    # pre-saves of this link below.
    if choices.email_consent:
        fan.email_consent_at = now
    contact.confirmed_fan_id = fan.id
    await session.flush()
    reminder = None
    if contact.purpose is ContactPurpose.reminder:
        raw_service = contact.context.get("service")
        reminder = await _schedule_reminder(
            session,
            kit,
            link=link,
            release=release,
            campaign=campaign,
            fan=fan,
            service=str(raw_service) if raw_service else None,
            choices=choices,
            browser_hash=browser_hash,
            translate=translate,
        )
    else:
        ticked = (
            (ConsentKind.email, choices.email_consent),
            (ConsentKind.email_reminder, choices.email_reminder),
        )
        for kind in (kind for kind, given in ticked if given):
            text = await _consent_text(
                session, campaign, link.workspace_id, kind, choices, translate
            )
            await consent.record_consent(
                session,
                clock=kit.clock,
                workspace_id=link.workspace_id,
                fan_id=fan.id,
                kind=kind,
                text=text,
                ip_hash=ip_hash,
                user_agent=user_agent,
                presave_id=contact.presave_id if joined_typist else None,
            )
        await _grant_reminders(session, fan, link.id, choices, now=now)
        # The address is proven now: the fan's pre-saves get their messages by email.
        await plan_fan(session, fan.id, now=now)
    if reminder is not None and reminder.created:
        await _receipt_due(session, kit.clock, fan=fan, link_id=link.id, language=choices.language)
    return ContactConfirmed(
        purpose=contact.purpose,
        fan_id=fan.id,
        link_id=link.id,
        email=contact.email,
        language=choices.language,
        reminder=reminder,
    )


async def create_magic_link(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    link: Link,
    email: str,
    service: str | None,
    choices: FanChoices,
) -> str:
    """A link to finish the pre-save later, in a real browser. Returns the raw token.

    The address is only kept on the link: opening it proves it, and the fan is found or
    made when the link is used to pre-save (nothing is looked up by the typed address).
    """
    token = new_secret_token()
    now = kit.clock.now()
    magic = MagicLink(
        workspace_id=link.workspace_id,
        link_id=link.id,
        fan_id=None,
        email=email,
        token_hash=token_hash(token),
        service=service,
        context={"language": choices.language, "in_app": choices.in_app},
        created_at=now,
        expires_at=now + MAGIC_LINK_LIFETIME,
    )
    await PresaveRepository(session).add(magic)
    # The email is messaging's, sent after commit through the outbox.
    await emit(
        session,
        MagicLinkRequested(
            occurred_at=now,
            workspace_id=link.workspace_id,
            magic_link_id=magic.id,
            link_id=link.id,
            language=choices.language,
            sealed_token=kit.cipher.encrypt(token).decode("ascii"),
        ),
    )
    return token


async def open_magic_link(session: AsyncSession, kit: PresaveKit, token: str) -> MagicLink:
    """The magic link for ``token``; usable until it expires (mail scanners open links too,
    so a first opening must not burn it)."""
    magic = await PresaveRepository(session).magic_link(token_hash(token)) if token else None
    if magic is None:
        raise LinkInvalid("this link is not valid")
    now = kit.clock.now()
    if now >= magic.expires_at:
        raise LinkExpired("this link has expired; ask for a new one on the pre-save page")
    if magic.used_at is None:
        magic.used_at = now
        await session.flush()
    return magic


# -- confirmation and revoke ---------------------------------------------------------------


@dataclass(frozen=True)
class FanToken:
    """What a signed fan link names. ``browser_hash`` set: only what that browser made (a
    link shown on a page); None: everything of the fan on the link (a link we emailed, the
    address being the proof)."""

    fan_id: UUID
    link_id: UUID
    browser_hash: str | None


def confirmation_token(kit: PresaveKit, fan_id: UUID, link_id: UUID, browser_hash: str) -> str:
    """The confirmation page of what this browser made on the link (30 days)."""
    return kit.signer.sign(
        "confirmation",
        {"f": str(fan_id), "l": str(link_id), "b": browser_hash},
        expires_at=kit.clock.now() + CONFIRMATION_LIFETIME,
    )


def revoke_token(
    kit: PresaveKit, fan_id: UUID, link_id: UUID, *, browser_hash: str | None = None
) -> str:
    """Signed and without expiry. With ``browser_hash`` (the confirmation page's link) it
    covers what that browser made; without (the link in an email) the fan's pre-saves on
    the link, the address it was sent to being the proof."""
    payload = {"f": str(fan_id), "l": str(link_id)}
    if browser_hash is not None:
        payload["b"] = browser_hash
    return kit.signer.sign("revoke", payload, expires_at=None)


def unsubscribe_token(kit: PresaveKit, fan_id: UUID, link_id: UUID) -> str:
    """The ``List-Unsubscribe`` link of an email we sent: good for nothing but revoking."""
    return signed_unsubscribe_token(kit.signer, fan_id, link_id)


def signed_unsubscribe_token(signer: Signer, fan_id: UUID, link_id: UUID) -> str:
    return signer.sign("unsubscribe", {"f": str(fan_id), "l": str(link_id)}, expires_at=None)


def unsubscribe_headers(
    kit: PresaveKit, public_url: str, fan_id: UUID, link_id: UUID
) -> dict[str, str]:
    """``List-Unsubscribe`` (a single-purpose signed URL) and RFC 8058's one-click
    ``List-Unsubscribe-Post`` for an email we send a fan about a link."""
    return signed_unsubscribe_headers(kit.signer, public_url, fan_id, link_id)


def signed_unsubscribe_headers(
    signer: Signer, public_url: str, fan_id: UUID, link_id: UUID
) -> dict[str, str]:
    """:func:`unsubscribe_headers` from the signer alone (messaging's workers)."""
    token = signed_unsubscribe_token(signer, fan_id, link_id)
    url = f"{public_url.rstrip('/')}/presave/unsubscribe/{token}"
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _unsign(kit: PresaveKit, purpose: str, token: str) -> dict[str, Any]:
    try:
        return kit.signer.unsign(purpose, token, now=kit.clock.now())
    except BadSignature as error:
        if str(error) == "expired":
            raise LinkExpired("this link has expired") from None
        raise LinkInvalid("this link is not valid") from None


def read_fan_token(kit: PresaveKit, purpose: str, token: str) -> FanToken:
    payload = _unsign(kit, purpose, token)
    try:
        browser = payload.get("b")
        return FanToken(
            fan_id=UUID(str(payload["f"])),
            link_id=UUID(str(payload["l"])),
            browser_hash=str(browser) if browser is not None else None,
        )
    except (KeyError, ValueError):
        raise LinkInvalid("this link is not valid") from None


@dataclass(frozen=True)
class Revoked:
    presaves_cancelled: int
    grants_revoked: int
    messages_cancelled: int


async def revoke(
    session: AsyncSession,
    kit: PresaveKit,
    *,
    fan_id: UUID,
    link_id: UUID,
    browser_hash: str | None = None,
) -> Revoked:
    """The fan's one-click revoke: delete the tokens, cancel every pending action.

    ``browser_hash`` limits it to what that browser made (the confirmation page's link);
    without it (a link we emailed) it covers the fan's pre-saves on the link and withdraws
    their email consent, so the address also leaves the operator's contact list.
    """
    repository = PresaveRepository(session)
    presaves = await repository.presaves_of_fan(fan_id, link_id=link_id, browser_hash=browser_hash)
    grant_ids = sorted({p.grant_id for p in presaves if p.grant_id is not None})
    cancelled = 0
    to_cancel = {p.id: p for p in presaves if not p.state.is_final}
    for other in await repository.open_presaves_of_grants(grant_ids):
        to_cancel.setdefault(other.id, other)
    for presave in to_cancel.values():
        await transition(
            session, presave, PresaveState.cancelled, clock=kit.clock, reason="revoked by the fan"
        )
        await emit(
            session,
            PresaveRevoked(
                **about_presave(presave.id, presave, occurred_at=kit.clock.now()),
                reason="revoked by the fan",
            ),
        )
        cancelled += 1
    revoked = 0
    for grant_id in grant_ids:
        grant = await repository.grant_by_id(grant_id)
        if grant is not None and (
            grant.access_token or grant.refresh_token or not grant.revoked_at
        ):
            delete_tokens(grant, now=kit.clock.now(), reason="revoked by the fan")
            grant.standing = False
            revoked += 1
    # Applied at once, in this transaction: no message about what the fan took back
    # leaves after this commit (a message being handed over right now is past recall).
    messages = await cancel_presave_messages(
        session, [p.id for p in presaves], now=kit.clock.now(), reason="revoked by the fan"
    )
    if browser_hash is None:
        await _withdraw_email_consent(session, kit, fan_id=fan_id, link_id=link_id)
    await session.flush()
    return Revoked(cancelled, revoked, messages)


async def _withdraw_email_consent(
    session: AsyncSession, kit: PresaveKit, *, fan_id: UUID, link_id: UUID
) -> None:
    repository = PresaveRepository(session)
    link = await repository.link(link_id)
    fan = await repository.fan(link.workspace_id, fan_id) if link is not None else None
    if fan is None:
        return
    # Reminder-only consents of every release go with it: an unsubscribe is everything.
    await repository.withdraw_reminders(fan.id, email=True, sms=False, now=kit.clock.now())
    if fan.email_consent_at is None:
        return
    fan.email_consent_at = None
    await repository.add(
        ConsentRecord(
            workspace_id=fan.workspace_id,
            fan_id=fan.id,
            kind=ConsentKind.email,
            granted=False,
            at=kit.clock.now(),
        )
    )


# -- fulfilment engine API ---------------------------------------------------------------


def grant_tokens(grant: ServiceGrant, cipher: TokenCipher) -> TokenSet:
    """The grant's decrypted tokens; :class:`TokensGone` once they were deleted."""
    if grant.access_token is None:
        raise TokensGone("this grant's tokens were deleted")
    return TokenSet(
        access_token=cipher.decrypt(grant.access_token),
        refresh_token=cipher.decrypt(grant.refresh_token) if grant.refresh_token else None,
        expires_at=grant.access_expires_at,
        scopes=tuple(str(s) for s in grant.scopes),
    )


def store_refreshed_tokens(grant: ServiceGrant, tokens: TokenSet, cipher: TokenCipher) -> None:
    """Encrypt ``tokens`` onto the grant (caller flushes and commits before using them)."""
    grant.access_token = cipher.encrypt(tokens.access_token)
    grant.refresh_token = cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
    grant.access_expires_at = tokens.expires_at
    if tokens.scopes:
        grant.scopes = list(tokens.scopes)


def delete_tokens(grant: ServiceGrant, *, now: datetime, reason: str) -> None:
    grant.access_token = None
    grant.refresh_token = None
    grant.access_expires_at = None
    grant.revoked_at = now
    grant.revoked_reason = reason


async def _emit_created(session: AsyncSession, clock: Clock, presave: Presave) -> None:
    await emit(
        session,
        PresaveCreated(
            **about_presave(presave.id, presave, occurred_at=clock.now()),
            mode=presave.mode.value,
            due_at=presave.due_at,
        ),
    )


async def _receipt_due(
    session: AsyncSession, clock: Clock, *, fan: Fan, link_id: UUID, language: str
) -> None:
    """Owe the fan the receipt of their pre-saves on the link (sent by messaging)."""
    await emit(
        session,
        PresaveReceiptDue(
            occurred_at=clock.now(),
            workspace_id=fan.workspace_id,
            fan_id=fan.id,
            link_id=link_id,
            language=language,
        ),
    )


async def _event(
    session: AsyncSession, clock: Clock, presave: Presave, state: PresaveState, reason: str | None
) -> None:
    await PresaveRepository(session).add(
        PresaveEvent(presave_id=presave.id, state=state, reason=reason, at=clock.now())
    )


async def transition(
    session: AsyncSession,
    presave: Presave,
    state: PresaveState,
    *,
    clock: Clock,
    reason: str | None = None,
) -> None:
    """Move ``presave`` to ``state`` and record the transition (final states stamp
    ``finished_at`` and ``final_reason``)."""
    presave.state = state
    if state.is_final:
        presave.finished_at = clock.now()
        presave.final_reason = reason
    await _event(session, clock, presave, state, reason)


async def forget_tokens_after_fulfilment(
    session: AsyncSession, presave: Presave, *, clock: Clock
) -> bool:
    """Delete the grant's tokens once ``presave`` is final, unless the fan opted into
    future releases (standing grant) or another open pre-save still needs them.

    Returns True when the tokens were deleted.
    """
    if presave.grant_id is None or not presave.state.is_final:
        return False
    repository = PresaveRepository(session)
    grant = await repository.grant_by_id(presave.grant_id)
    if grant is None or grant.standing or grant.access_token is None:
        return False
    if await repository.open_presaves_of_grant_count(grant.id, except_id=presave.id):
        return False
    delete_tokens(grant, now=clock.now(), reason="deleted after fulfilment")
    await session.flush()
    return True
