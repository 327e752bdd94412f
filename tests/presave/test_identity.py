"""A fan is who they proved to be: a service sign-in, an emailed link they used, or the
browser that made their pre-saves. A typed address proves nothing, finds no one and
changes nothing until its owner confirms it. Walked as the fan, and as a stranger in
another browser who knows the fan's address."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.models import ConsentRecord, Fan, MagicLink, Presave, ServiceGrant
from launchlink.models.presave import PendingContact, PresaveState
from launchlink.web.security import BROWSER_COOKIE
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    INSTAGRAM_UA,
    Inbox,
    ask_for_reminder,
    browser_for,
    confirm_address,
    csrf_of,
    make_presave_link,
    open_page,
    opt_in_path,
    presave_via_spotify,
    reminder_messages,
)

FAN_A = "fan.a@example.com"


async def _count(app: Application, model: type) -> int:
    async with app.context.database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def _rows(app: Application, model: type) -> list[Any]:
    async with app.context.database.sessionmaker() as session:
        return list((await session.execute(select(model).order_by(model.id))).scalars())


def _fan_facts(fan: Fan) -> tuple[Any, ...]:
    return (
        fan.id,
        fan.email,
        fan.email_consent_at,
        fan.phone,
        fan.sms_consent_at,
        fan.country,
        fan.time_zone,
        fan.language,
    )


async def _fan_a_presaved_and_confirmed(
    browser: httpx.AsyncClient, inbox: Inbox, slug: str = "soon"
) -> str:
    """Fan A pre-saves on Spotify from their browser and confirms their address there;
    returns their confirmation page's path."""
    finished = await presave_via_spotify(
        browser, username="fan-a", slug=slug, form={"email": FAN_A, "email_consent": "1"}
    )
    assert finished.status_code == 303
    assert (await confirm_address(browser, inbox, FAN_A)).status_code == 200
    return str(finished.headers["location"]).replace("&email=pending", "")


async def test_a_stranger_typing_a_fans_email_sees_and_changes_nothing_of_theirs(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, slug="demo-soon")
    async with browser_for(papp) as browser_a, browser_for(papp) as browser_b:
        await _fan_a_presaved_and_confirmed(browser_a, inbox, slug="demo-soon")
        [fan_a] = await _rows(papp, Fan)
        before = _fan_facts(fan_a)
        [grant_a] = await _rows(papp, ServiceGrant)
        # A's own release-day email, planned for A's Spotify pre-save.
        planned = [(m.id, m.fan_id, m.state) for m in await reminder_messages(papp)]
        assert [fan_id for _, fan_id, _ in planned] == [fan_a.id]
        inbox.messages.clear()

        # B asks for a reminder with A's address, then with an address nobody has.
        with_a = await ask_for_reminder(browser_b, email=FAN_A, slug="demo-soon")
        with_new = await ask_for_reminder(browser_b, email="nobody@example.com", slug="demo-soon")
        assert with_a.status_code == with_new.status_code == 200
        assert with_a.text == with_new.text, "the answer must not tell the two apart"
        assert "Check your inbox" in with_a.text
        for leak in ("/revoke/", "Spotify", "fan.a", "done?t="):
            assert leak not in with_a.text
        # Nothing was scheduled, joined or changed: both addresses just wait.
        assert [(m.id, m.fan_id, m.state) for m in await reminder_messages(papp)] == planned
        assert await _count(papp, Fan) == 1
        [fan_a_after] = await _rows(papp, Fan)
        assert _fan_facts(fan_a_after) == before
        [presave_a] = await _rows(papp, Presave)
        assert presave_a.state is PresaveState.waiting
        [grant_after] = await _rows(papp, ServiceGrant)
        assert grant_after.access_token == grant_a.access_token is not None
        assert grant_after.refresh_token is not None
        assert {p.email for p in await _rows(papp, PendingContact)} >= {
            FAN_A,
            "nobody@example.com",
        }
        # Only the owner of each address hears about it, and only to confirm.
        [to_a] = inbox.to(FAN_A)
        assert to_a["Subject"].startswith("Confirm your reminder")
        assert "/revoke/" not in Inbox.text_of(to_a)

        # B pre-saves with their own Spotify account, typing A's address again.
        b_done = await presave_via_spotify(
            browser_b,
            username="stranger",
            slug="demo-soon",
            form={"email": FAN_A, "email_consent": "1"},
        )
        b_page = await browser_b.get(b_done.headers["location"])
        assert b_page.status_code == 200
        assert b_page.text.count("Spotify:") == 1  # B's own pre-save, nothing of A's
    assert await _count(papp, Fan) == 2

    [grant_b] = [g for g in await _rows(papp, ServiceGrant) if g.id != grant_a.id]
    assert grant_b.fan_id != grant_a.fan_id
    a_export = (await admin.post(label, "/fans/export", {"email": FAN_A})).json()
    [exported_a] = a_export["fans"]
    assert [g["account_id"] for g in exported_a["service_accounts"]] == [grant_a.account_id]
    assert len(exported_a["presaves"]) == 1
    assert grant_b.account_id not in str(exported_a)
    # What B typed is data about A's address: listed, without anything about B.
    assert {u["purpose"] for u in a_export["unconfirmed_addresses"]} == {"reminder", "contact"}
    assert set(a_export["unconfirmed_addresses"][0]) == {
        "email",
        "link_id",
        "purpose",
        "created_at",
        "expires_at",
    }
    b_export = (
        await admin.post(
            label, "/fans/export", {"service": "spotify", "account_id": grant_b.account_id}
        )
    ).json()
    [exported_b] = b_export["fans"]
    assert exported_b["email"] is None
    assert [g["account_id"] for g in exported_b["service_accounts"]] == [grant_b.account_id]
    assert exported_b["id"] != exported_a["id"]
    assert grant_a.account_id not in str(exported_b)
    assert FAN_A not in str(exported_b)


async def test_the_owner_confirming_a_strangers_request_gets_it_and_the_stranger_nothing(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp) as browser_a, browser_for(papp) as browser_b:
        a_done = await _fan_a_presaved_and_confirmed(browser_a, inbox)
        await ask_for_reminder(browser_b, email=FAN_A)
        # A opens the email on their own browser and confirms: it is now A's reminder.
        confirmed = await confirm_address(browser_a, inbox, FAN_A)
        assert confirmed.status_code == 303
        [fan_a] = await _rows(papp, Fan)
        [reminder] = await reminder_messages(papp)
        assert reminder.fan_id == fan_a.id
        a_page = await browser_a.get(a_done)
        assert "Spotify" in a_page.text
        # B holds no page, token or row of A's.
        b_page = await browser_b.get(a_done)
        assert b_page.status_code == 403
        assert "Spotify" not in b_page.text
    assert await _count(papp, Fan) == 1


async def test_a_confirmation_page_or_revoke_link_opened_in_another_browser_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp) as owner, browser_for(papp) as other:
        done = await _fan_a_presaved_and_confirmed(owner, inbox)
        page = await owner.get(done)
        revoke = re.search(r'href="(/revoke/[^"]+)"', page.text)
        assert revoke is not None
        forwarded = await other.get(done)
        assert forwarded.status_code == 403
        assert "Spotify" not in forwarded.text
        assert "/revoke/" not in forwarded.text
        stolen = await other.get(revoke.group(1))
        assert stolen.status_code == 403
        csrf = csrf_of(await open_page(other))
        posted = await other.post(revoke.group(1), data={"csrf": csrf})
        assert posted.status_code == 403
        async with browser_for(papp) as no_cookie:
            assert (await no_cookie.get(done)).status_code == 403
    [presave] = await _rows(papp, Presave)
    assert presave.state is PresaveState.waiting
    [grant] = await _rows(papp, ServiceGrant)
    assert grant.access_token is not None


async def test_a_browser_keeps_its_fan_across_services_and_no_one_else_joins_it(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}, "sms_opt_in": True}
    )
    async with browser_for(papp) as mine, browser_for(papp) as theirs:
        await presave_via_spotify(mine, username="me")
        texted = await ask_for_reminder(mine, service="deezer", phone="+44 7700 900123")
        assert texted.status_code == 303
        page = await mine.get(texted.headers["location"])
        assert "Spotify:" in page.text
        assert "Deezer:" in page.text
        other = await ask_for_reminder(theirs, service="deezer", phone="+44 7700 900999")
        other_page = await theirs.get(other.headers["location"])
        assert "Deezer:" in other_page.text
        assert "Spotify:" not in other_page.text
    fans = {p.fan_id for p in await _rows(papp, Presave)}
    assert len(fans) == 2


async def test_revoking_from_a_browser_cancels_only_what_that_browser_made(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    async with browser_for(papp) as laptop, browser_for(papp) as phone:
        await _fan_a_presaved_and_confirmed(laptop, inbox)
        await ask_for_reminder(phone, service="deezer", email=FAN_A)
        done = await confirm_address(phone, inbox, FAN_A)  # proves A's address on the phone
        page = await phone.get(done.headers["location"])
        assert "Deezer:" in page.text
        assert "Spotify:" not in page.text  # made on the laptop
        revoke = re.search(r'href="(/revoke/[^"]+)"', page.text)
        assert revoke is not None
        form = await phone.get(revoke.group(1))
        assert (
            await phone.post(revoke.group(1), data={"csrf": csrf_of(form.text)})
        ).status_code == 200
    by_service = {p.service: p.state for p in await _rows(papp, Presave)}
    assert by_service == {"spotify": PresaveState.waiting, "deezer": PresaveState.cancelled}
    [grant] = await _rows(papp, ServiceGrant)
    assert grant.access_token is not None


async def test_a_magic_link_proves_its_address_when_used_and_not_before(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp, **{"User-Agent": INSTAGRAM_UA}) as instagram:
        html = await open_page(instagram)
        sent = await instagram.post(
            "/presave/soon/later", data={"csrf": csrf_of(html), "email": "later@example.com"}
        )
        assert sent.status_code == 200
    assert await _count(papp, Fan) == 0, "a typed address makes no fan"
    [magic] = await _rows(papp, MagicLink)
    assert (magic.email, magic.fan_id) == ("later@example.com", None)
    [email] = inbox.to("later@example.com")
    link = re.search(r"https://links\.example\.test(/presave/magic/\S+)", Inbox.text_of(email))
    assert link is not None
    async with browser_for(papp) as real_browser:
        assert (await real_browser.get(link.group(1))).status_code == 303
        # The same address typed again is already proven by the link: no opt-in email.
        done = await presave_via_spotify(
            real_browser,
            username="later-fan",
            form={"email": "later@example.com", "email_consent": "1"},
        )
        assert "email=pending" not in done.headers["location"]
    [fan] = await _rows(papp, Fan)
    assert fan.email == "later@example.com"
    assert fan.email_consent_at is not None
    [presave] = await _rows(papp, Presave)
    assert presave.fan_id == fan.id
    assert await _count(papp, PendingContact) == 0
    assert {c.kind.value for c in await _rows(papp, ConsentRecord)} == {
        "connect_service",
        "email",
    }


async def test_a_browser_cookie_we_did_not_sign_is_replaced_and_proves_nothing(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp) as forger:
        forger.cookies.set(BROWSER_COOKIE, "chosen-by-me", domain="links.example.test")
        page = await forger.get("/soon")
        issued = page.headers["set-cookie"]
        assert issued.startswith(f"{BROWSER_COOKIE}=")
        assert "chosen-by-me" not in issued
        refused = await forger.post(
            "/presave/soon/connect",
            data={"csrf": csrf_of(page.text), "service": "spotify"},
            headers={"Cookie": f"{BROWSER_COOKIE}=chosen-by-me"},
        )
        assert refused.status_code == 403


async def test_the_confirmation_link_works_once_and_a_get_never_confirms(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp) as fan:
        await ask_for_reminder(fan, email="once@example.com")
        link = opt_in_path(inbox, "once@example.com")
        for _ in range(3):
            assert (await fan.get(link)).status_code == 200
        assert len(await reminder_messages(papp)) == 0
        assert (await confirm_address(fan, inbox, "once@example.com")).status_code == 303
        page = await fan.get(link)
        assert "Already confirmed" in page.text
    assert len(await reminder_messages(papp)) == 1
