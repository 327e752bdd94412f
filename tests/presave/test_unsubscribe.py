"""The List-Unsubscribe header of our emails: a single-purpose signed URL whose RFC 8058
one-click POST revokes without a cookie or CSRF token; a GET (mail scanners prefetch)
never does, and shows the human page with its CSRF form."""

from __future__ import annotations

import csv
import io
import re
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from launchlink.app import Application
from launchlink.models import ConsentRecord, Fan, Presave
from launchlink.models.messaging import MessageState
from launchlink.models.presave import ConsentKind, PresaveState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    browser_for,
    csrf_of,
    make_presave_link,
    reminder_messages,
    sign_up_for_reminder,
)

ONE_CLICK = "List-Unsubscribe=One-Click"


def _unsubscribe_path(message: EmailMessage) -> str:
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    found = re.fullmatch(
        r"<https://links\.example\.test(/presave/unsubscribe/[^>]+)>", message["List-Unsubscribe"]
    )
    assert found is not None, message["List-Unsubscribe"]
    return found.group(1)


async def _signed_up(papp: Application, inbox: Inbox, address: str) -> EmailMessage:
    """A fan confirmed a reminder; returns the email with the List-Unsubscribe header."""
    async with browser_for(papp) as fan:
        await sign_up_for_reminder(fan, inbox, address, service="")
    return next(m for m in inbox.to(address) if m["List-Unsubscribe"])


async def _states(papp: Application) -> tuple[PresaveState, MessageState]:
    """The pre-save and its release-day email (the reminder)."""
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    [reminder] = await reminder_messages(papp)
    return presave.state, reminder.state


async def test_a_one_click_post_without_cookie_or_csrf_revokes(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    created = await make_presave_link(admin, label)
    path = _unsubscribe_path(await _signed_up(papp, inbox, "leaving@example.com"))
    async with browser_for(papp) as mail_client:  # the mailbox provider: no cookies at all
        answer = await mail_client.post(
            path,
            content=ONE_CLICK,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    assert await _states(papp) == (PresaveState.cancelled, MessageState.cancelled)
    async with papp.context.database.sessionmaker() as session:
        fan = (await session.execute(select(Fan))).scalar_one()
        withdrawn = [
            c
            for c in (await session.execute(select(ConsentRecord))).scalars()
            if c.kind is ConsentKind.email and not c.granted
        ]
    assert fan.email_consent_at is None
    assert len(withdrawn) == 1
    contacts = await admin.client.get(
        f"/api/v1/links/{created['link']['id']}/contacts.csv", headers=label.headers
    )
    assert [row["email"] for row in csv.DictReader(io.StringIO(contacts.text))] == []


async def test_a_one_click_post_sent_as_multipart_also_revokes(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    path = _unsubscribe_path(await _signed_up(papp, inbox, "multi@example.com"))
    async with browser_for(papp) as mail_client:
        answer = await mail_client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert await _states(papp) == (PresaveState.cancelled, MessageState.cancelled)


async def test_opening_the_unsubscribe_url_never_revokes_and_offers_the_form(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    path = _unsubscribe_path(await _signed_up(papp, inbox, "scanned@example.com"))
    async with browser_for(papp) as scanner:
        for _ in range(2):
            page = await scanner.get(path)
            assert page.status_code == 200
            assert 'id="confirm-revoke"' in page.text
        assert await _states(papp) == (PresaveState.waiting, MessageState.queued)
        # A person presses the button: the human page keeps its CSRF form.
        no_token = await scanner.post(path, data={})
        assert no_token.status_code == 403
        assert await _states(papp) == (PresaveState.waiting, MessageState.queued)
        pressed = await scanner.post(path, data={"csrf": csrf_of(page.text)})
    assert pressed.status_code == 200
    assert await _states(papp) == (PresaveState.cancelled, MessageState.cancelled)


@pytest.mark.parametrize("change", ["altered", "wrong_purpose", "truncated"])
async def test_a_forged_unsubscribe_url_is_refused_and_changes_nothing(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, change: str
) -> None:
    await make_presave_link(admin, label)
    message = await _signed_up(papp, inbox, "kept@example.com")
    path = _unsubscribe_path(message)
    token = path.rsplit("/", 1)[1]
    if change == "altered":
        forged = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    elif change == "wrong_purpose":  # the revoke link from the body, on the one-click URL
        revoke = re.search(r"/revoke/(\S+)", Inbox.text_of(message))
        assert revoke is not None
        forged = f"/presave/unsubscribe/{revoke.group(1)}"
    else:
        forged = f"/presave/unsubscribe/{token.split('.')[0]}"
    async with browser_for(papp) as attacker:
        answer = await attacker.post(
            forged,
            content=ONE_CLICK,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 404
    assert await _states(papp) == (PresaveState.waiting, MessageState.queued)


async def test_the_human_revoke_link_does_not_take_a_one_click_post(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    message = await _signed_up(papp, inbox, "careful@example.com")
    revoke = re.search(r"https://links\.example\.test(/revoke/\S+)", Inbox.text_of(message))
    assert revoke is not None
    async with browser_for(papp) as client:
        answer = await client.post(
            revoke.group(1),
            content=ONE_CLICK,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 403
    assert await _states(papp) == (PresaveState.waiting, MessageState.queued)
