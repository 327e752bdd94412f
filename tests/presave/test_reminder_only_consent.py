"""A fan can ask for this release's reminder alone, apart from marketing consent: the
reminder-only fan gets the release-day (and countdown) message and no announcement; a fan
who also gave marketing consent gets both; a consent given before the split stays
marketing; an unsubscribe withdraws the reminder too. Plain form posts (no JavaScript)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import ConsentRecord, ConsentText, Fan, Message, Presave
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.presave import ConsentKind
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    ask_for_reminder,
    browser_for,
    confirm_address,
    deliver_messages,
    make_presave_link,
    open_page,
    opt_in_path,
    presave_via_spotify,
    reminder_messages,
    sign_up_for_reminder,
)

LISTENER = "listener@example.com"


async def _announce(admin: Api, label: WorkspaceKey, link_id: str) -> int:
    made = await admin.post(
        label,
        "/messaging/announcements",
        {"link_id": link_id, "body": "Tour dates are up.", "channels": ["email"]},
    )
    assert made.status_code == 201, made.text
    queued: int = made.json()["queued"]
    return queued


async def _signed_up(
    fan: httpx.AsyncClient, admin: Api, label: WorkspaceKey, inbox: Inbox, *, reminder_only: bool
) -> str:
    created = await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}}
    )
    await sign_up_for_reminder(fan, inbox, LISTENER, reminder_only=reminder_only)
    inbox.messages.clear()  # the opt-in and the sign-up confirmation
    link_id: str = created["link"]["id"]
    return link_id


async def _due_at(papp: Application) -> datetime:
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    return presave.due_at


def _subjects(inbox: Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.to(LISTENER)]


async def test_the_page_offers_the_reminder_and_marketing_as_two_unticked_boxes(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign={"sms_opt_in": True})
    html = await open_page(fan)
    for box in ("email_reminder", "email_consent", "sms_reminder", "sms_consent"):
        assert f'name="{box}" value="1" id="{box}">' in html  # present, not checked
    assert "Email me about this release only" in html
    assert "Email me about this artist&#39;s future releases and news" in html


async def test_a_reminder_only_fan_gets_the_release_day_email_but_no_announcement(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    link_id = await _signed_up(fan, admin, label, inbox, reminder_only=True)

    assert await _announce(admin, label, link_id) == 0
    clock.set(await _due_at(papp))
    assert (await deliver_messages(papp)).sent == 1
    [subject] = _subjects(inbox)
    assert "is out now" in subject

    async with papp.context.database.sessionmaker() as session:
        fan_row = (await session.execute(select(Fan))).scalar_one()
        records = list((await session.execute(select(ConsentRecord))).scalars())
        texts = {t.id: t for t in (await session.execute(select(ConsentText))).scalars()}
    assert fan_row.email == LISTENER
    assert fan_row.email_consent_at is None  # no marketing consent
    [reminder] = [r for r in records if r.kind is ConsentKind.email_reminder]
    assert reminder.granted
    assert reminder.presave_id is not None
    assert reminder.consent_text_id is not None
    assert texts[reminder.consent_text_id].text.startswith("Email me about this release only")
    assert not [r for r in records if r.kind is ConsentKind.email]


async def test_a_fan_with_marketing_consent_gets_the_release_day_email_and_the_announcement(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    link_id = await _signed_up(fan, admin, label, inbox, reminder_only=False)

    assert await _announce(admin, label, link_id) == 1
    assert (await deliver_messages(papp)).sent == 1
    [announcement] = inbox.to(LISTENER)
    assert "Tour dates are up." in Inbox.text_of(announcement)
    inbox.messages.clear()
    clock.set(await _due_at(papp))
    assert (await deliver_messages(papp)).sent == 1
    assert "is out now" in _subjects(inbox)[0]


async def test_a_consent_given_before_the_split_is_marketing(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    created = await make_presave_link(admin, label)
    before = datetime(2026, 1, 1, tzinfo=UTC)
    async with papp.context.database.transaction() as session:
        old = Fan(workspace_id=label.workspace_id, email=LISTENER, email_consent_at=before)
        session.add(old)
        await session.flush()
        session.add(
            ConsentRecord(
                workspace_id=label.workspace_id, fan_id=old.id, kind=ConsentKind.email, at=before
            )
        )

    assert await _announce(admin, label, created["link"]["id"]) == 1
    assert (await deliver_messages(papp)).sent == 1
    [announcement] = inbox.to(LISTENER)
    assert "Tour dates are up." in Inbox.text_of(announcement)


async def test_the_contacts_csv_leaves_reminder_only_fans_out(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    created = await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}}
    )
    for address, reminder_only in (("only@example.com", True), ("news@example.com", False)):
        async with browser_for(papp) as browser:
            answer = await ask_for_reminder(
                browser, service="deezer", email=address, reminder_only=reminder_only
            )
            assert answer.status_code == 200
            assert (await confirm_address(browser, inbox, address)).status_code == 303
    contacts = await admin.client.get(
        f"/api/v1/links/{created['link']['id']}/contacts.csv", headers=label.headers
    )
    assert contacts.status_code == 200
    rows = list(csv.DictReader(io.StringIO(contacts.text)))
    assert [row["email"] for row in rows] == ["news@example.com"]


async def test_an_unsubscribe_withdraws_the_reminder_only_consent(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    answer = await ask_for_reminder(fan, service="deezer", email=LISTENER, reminder_only=True)
    assert answer.status_code == 200
    assert (await confirm_address(fan, inbox, LISTENER)).status_code == 303
    header = next(m for m in inbox.to(LISTENER) if m["List-Unsubscribe"])["List-Unsubscribe"]
    path = str(header).strip("<>").removeprefix("https://links.example.test")
    async with browser_for(papp) as mail_client:
        done = await mail_client.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert done.status_code == 200

    clock.set(await _due_at(papp))
    inbox.messages.clear()
    await deliver_messages(papp)
    assert inbox.to(LISTENER) == []
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        withdrawn = [
            r
            for r in (await session.execute(select(ConsentRecord))).scalars()
            if r.kind is ConsentKind.email_reminder and not r.granted
        ]
        messages = list(
            (
                await session.execute(
                    select(Message).where(
                        Message.channel == MessageChannel.email,
                        Message.kind == MessageKind.release_day,
                    )
                )
            ).scalars()
        )
    assert presave.email_reminder_at is None
    assert len(withdrawn) == 1
    assert [m.state for m in messages] == [MessageState.cancelled]


async def test_the_operators_own_reminder_wording_is_shown_and_recorded(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    wording = "Only a note about this album, by email, on the day."
    await make_presave_link(
        admin,
        label,
        campaign={
            "service_modes": {"deezer": "reminder"},
            "consent_texts": {"email_reminder": wording},
        },
    )
    assert wording in await open_page(fan)
    answer = await ask_for_reminder(fan, service="deezer", email=LISTENER, reminder_only=True)
    assert answer.status_code == 200
    assert (await confirm_address(fan, inbox, LISTENER)).status_code == 303
    async with papp.context.database.sessionmaker() as session:
        [record] = [
            r
            for r in (await session.execute(select(ConsentRecord))).scalars()
            if r.kind is ConsentKind.email_reminder
        ]
        text = await session.get(ConsentText, record.consent_text_id)
    assert text is not None
    assert text.text == wording
    assert text.kind is ConsentKind.email_reminder


async def test_a_spotify_presave_with_the_reminder_box_gets_this_releases_email_only(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    created = await make_presave_link(admin, label)
    done = await presave_via_spotify(fan, form={"email": LISTENER, "email_reminder": "1"})
    assert done.status_code == 303, done.text
    page = await fan.get(opt_in_path(inbox, LISTENER))
    assert "We will email you about this release only." in page.text
    assert (await confirm_address(fan, inbox, LISTENER)).status_code == 200

    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        fan_row = (await session.execute(select(Fan))).scalar_one()
    assert presave.email_reminder_at is not None
    assert fan_row.email == LISTENER
    assert fan_row.email_consent_at is None
    planned = [m for m in await reminder_messages(papp) if m.channel is MessageChannel.email]
    assert [m.presave_id for m in planned] == [presave.id]
    assert await _announce(admin, label, created["link"]["id"]) == 0
    listed = await admin.get(label, f"/links/{created['link']['id']}/presaves")
    [item] = listed.json()["items"]
    assert item["email_reminder_at"] is not None
    assert item["sms_reminder_at"] is None
