"""Accounts over real HTTP: sign-up, login, sessions, resets, invitations, API keys."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from launchlink.app import Application, create_app
from launchlink.config import Settings
from launchlink.kit.clock import FrozenClock
from launchlink.models import AuditEntry, User
from tests.dashboard.conftest import (
    PASSWORD,
    PUBLIC_URL,
    Browser,
    BrowserFactory,
    Inbox,
    Team,
    link_in,
)


async def test_the_first_account_of_a_fresh_instance_owns_its_workspace(
    browsers: BrowserFactory,
) -> None:
    ada = await browsers()
    assert (await ada.get("/dashboard")).headers["location"] == "/dashboard/signup"
    workspace_id = await ada.sign_up(email="ada@example.com", workspace="Ada Music")
    members = await ada.get(f"/dashboard/w/{workspace_id}/members")
    assert members.status_code == 200
    assert "ada@example.com" in members.text
    assert '<span class="badge accent">owner</span>' in members.text


async def test_later_sign_ups_need_an_invitation(
    browsers: BrowserFactory, dapp: Application
) -> None:
    await (await browsers()).sign_up(email="ada@example.com")
    stranger = await browsers()
    page = await stranger.get("/dashboard/signup")
    assert "by invitation only" in page.text
    refused = await stranger.post(
        "/dashboard/signup",
        {
            "name": "Eve",
            "email": "eve@example.com",
            "password": PASSWORD,
            "workspace_name": "Eve",
            "kind": "artist",
        },
    )
    assert refused.status_code == 403
    async with dapp.context.database.sessionmaker() as session:
        emails = (await session.execute(select(User.email))).scalars().all()
    assert emails == ["ada@example.com"]


async def test_an_operator_can_open_sign_up(
    dashboard_settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(dashboard_settings.model_copy(update={"open_sign_up": True}), clock=clock)
    try:
        for email in ("ada@example.com", "bo@example.com"):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
                await Browser(client).sign_up(email=email, workspace=email)
        async with app.context.database.sessionmaker() as session:
            count = (await session.execute(select(func.count(User.id)))).scalar_one()
        assert count == 2
    finally:
        await app.shutdown()


async def test_a_wrong_password_and_an_unknown_address_read_the_same(
    browsers: BrowserFactory,
) -> None:
    await (await browsers()).sign_up(email="ada@example.com")
    guesser = await browsers()
    wrong = await guesser.log_in("ada@example.com", "not the password")
    unknown = await guesser.log_in("nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "that email and password do not match an account"
    assert message in wrong.text
    assert message in unknown.text
    assert 'id="e-password"' in wrong.text


async def test_the_session_cookie_is_http_only_secure_and_lax(browsers: BrowserFactory) -> None:
    ada = await browsers()
    await ada.sign_up(email="ada@example.com")
    response = await ada.log_in("ada@example.com")
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("ll_session="))
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=Lax" in cookie


async def test_login_replaces_the_browsers_session(browsers: BrowserFactory) -> None:
    ada = await browsers()
    workspace_id = await ada.sign_up(email="ada@example.com")
    before = ada.client.cookies["ll_session"]
    await ada.log_in("ada@example.com")
    after = ada.client.cookies["ll_session"]
    assert after != before
    planted = await browsers()
    planted.client.cookies.set("ll_session", before, domain="links.example.test")
    response = await planted.get(f"/dashboard/w/{workspace_id}/campaigns")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login")


async def test_logging_out_revokes_the_session_on_the_server(browsers: BrowserFactory) -> None:
    ada = await browsers()
    workspace_id = await ada.sign_up(email="ada@example.com")
    token = ada.client.cookies["ll_session"]
    await ada.get(f"/dashboard/w/{workspace_id}/campaigns")
    assert (await ada.post("/dashboard/logout", {})).status_code == 303
    replay = await browsers()
    replay.client.cookies.set("ll_session", token, domain="links.example.test")
    response = await replay.get(f"/dashboard/w/{workspace_id}/campaigns")
    assert response.headers["location"].startswith("/dashboard/login")


async def test_another_browser_can_be_signed_out_from_the_account_page(
    browsers: BrowserFactory, dapp: Application
) -> None:
    laptop = await browsers()
    workspace_id = await laptop.sign_up(email="ada@example.com")
    phone = await browsers()
    await phone.log_in("ada@example.com")
    page = await laptop.get("/dashboard/account")
    from launchlink.models import UserSession

    async with dapp.context.database.sessionmaker() as session:
        rows = (await session.execute(select(UserSession))).scalars().all()
    phone_row = next(
        r
        for r in rows
        if r.revoked_at is None
        and f"/sessions/{r.id}/revoke" in page.text
        and r.created_at == max(x.created_at for x in rows)
    )
    response = await laptop.post(f"/dashboard/account/sessions/{phone_row.id}/revoke", {})
    assert response.status_code == 303
    signed_out = await phone.get(f"/dashboard/w/{workspace_id}/campaigns")
    assert signed_out.headers["location"].startswith("/dashboard/login")
    assert (await laptop.get(f"/dashboard/w/{workspace_id}/campaigns")).status_code == 200


async def test_logins_for_one_address_are_rate_limited(browsers: BrowserFactory) -> None:
    await (await browsers()).sign_up(email="ada@example.com")
    guesser = await browsers()
    statuses = [
        (await guesser.log_in("ada@example.com", f"guess number {n}")).status_code
        for n in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert guesser.last is not None
    assert int(guesser.last.headers["retry-after"]) > 0
    # The right password does not get through either while the limit holds.
    assert (await guesser.log_in("ada@example.com")).status_code == 429


async def test_a_password_reset_link_works_once(browsers: BrowserFactory, inbox: Inbox) -> None:
    ada = await browsers()
    workspace_id = await ada.sign_up(email="ada@example.com")
    forgetful = await browsers()
    await forgetful.get("/dashboard/reset")
    sent = await forgetful.post("/dashboard/reset", {"email": "ADA@example.com"})
    assert "an email with a reset link is on its way" in sent.text
    link = link_in(inbox, "ada@example.com", "/dashboard/reset/")
    assert (await forgetful.get(link)).status_code == 200
    done = await forgetful.post(link, {"password": "a brand new password"})
    assert done.status_code == 303
    assert (await forgetful.get(f"/dashboard/w/{workspace_id}/campaigns")).status_code == 200
    # The other browser was signed out, the old password is gone, the link is spent.
    signed_out = await ada.get(f"/dashboard/w/{workspace_id}/campaigns")
    assert signed_out.headers["location"].startswith("/dashboard/login")
    assert (await ada.log_in("ada@example.com")).status_code == 401
    assert (await ada.log_in("ada@example.com", "a brand new password")).status_code == 303
    again = await (await browsers()).get(link)
    assert again.status_code == 400
    assert "not valid, was used, or has expired" in again.text


async def test_a_reset_link_expires_after_an_hour(
    browsers: BrowserFactory, inbox: Inbox, clock: FrozenClock
) -> None:
    await (await browsers()).sign_up(email="ada@example.com")
    forgetful = await browsers()
    await forgetful.post("/dashboard/reset", {"email": "ada@example.com"})
    link = link_in(inbox, "ada@example.com", "/dashboard/reset/")
    clock.advance(timedelta(hours=1, seconds=1))
    assert (await forgetful.get(link)).status_code == 400


async def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    browsers: BrowserFactory, inbox: Inbox
) -> None:
    await (await browsers()).sign_up(email="ada@example.com")
    stranger = await browsers()
    response = await stranger.post("/dashboard/reset", {"email": "nobody@example.com"})
    assert response.status_code == 200
    assert "an email with a reset link is on its way" in response.text
    assert inbox.to("nobody@example.com") == []


async def test_an_invitation_link_is_single_use_and_expires(
    browsers: BrowserFactory, inbox: Inbox, clock: FrozenClock
) -> None:
    owner = await browsers()
    workspace_id = await owner.sign_up(email="ada@example.com")
    await owner.get(f"/dashboard/w/{workspace_id}/members")
    await owner.post(
        f"/dashboard/w/{workspace_id}/members/invite", {"email": "bo@example.com", "role": "editor"}
    )
    await owner.post(
        f"/dashboard/w/{workspace_id}/members/invite", {"email": "cy@example.com", "role": "editor"}
    )
    bo_link = link_in(inbox, "bo@example.com", "/dashboard/invite/")
    cy_link = link_in(inbox, "cy@example.com", "/dashboard/invite/")
    bo = await browsers()
    await bo.get(bo_link)
    assert (await bo.post(bo_link, {"name": "Bo", "password": PASSWORD})).status_code == 303
    used = await (await browsers()).get(bo_link)
    assert used.status_code == 400
    assert "used already" in used.text
    clock.advance(timedelta(days=7, seconds=1))
    expired = await (await browsers()).get(cy_link)
    assert expired.status_code == 400


async def test_a_new_invitation_voids_the_earlier_link(
    browsers: BrowserFactory, inbox: Inbox
) -> None:
    owner = await browsers()
    workspace_id = await owner.sign_up(email="ada@example.com")
    await owner.get(f"/dashboard/w/{workspace_id}/members")
    for role in ("viewer", "admin"):
        await owner.post(
            f"/dashboard/w/{workspace_id}/members/invite", {"email": "bo@example.com", "role": role}
        )
    first, latest = (
        Inbox.text_of(m).split(PUBLIC_URL)[1].split()[0] for m in inbox.to("bo@example.com")
    )
    assert (await (await browsers()).get(first)).status_code == 400
    page = await (await browsers()).get(latest)
    assert "You are invited as <strong>admin</strong>" in page.text


async def test_an_invitation_is_refused_to_a_browser_signed_in_as_someone_else(
    team: Team, inbox: Inbox
) -> None:
    await team.owner.get(f"/dashboard/w/{team.workspace_id}/members")
    await team.owner.post(
        f"/dashboard/w/{team.workspace_id}/members/invite",
        {"email": "dee@example.com", "role": "admin"},
    )
    link = link_in(inbox, "dee@example.com", "/dashboard/invite/")
    page = await team.viewer.get(link)
    assert "You are signed in as viewer@example.com" in page.text
    refused = await team.viewer.post(link, {})
    assert refused.status_code == 403
    members = await team.owner.get(f"/dashboard/w/{team.workspace_id}/members")
    assert '<span class="badge">viewer</span>' in members.text
    assert "dee@example.com" in members.text  # still an open invitation


async def test_an_api_key_secret_is_shown_once_and_works_until_revoked(
    team: Team, dapp: Application
) -> None:
    w = team.workspace_id
    await team.admin.get(f"/dashboard/w/{w}/api-keys")
    created = await team.admin.post(
        f"/dashboard/w/{w}/api-keys", {"name": "distributor sync", "role": "viewer"}
    )
    assert created.status_code == 200
    import re

    secret = re.search(r'id="new-secret">([^<]+)<', created.text)
    assert secret is not None
    key = secret.group(1)
    listing = await team.admin.get(f"/dashboard/w/{w}/api-keys")
    assert key not in listing.text
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=dapp), base_url=PUBLIC_URL)
    async with api:
        headers = {"authorization": f"Bearer {key}"}
        assert (await api.get("/api/v1/releases", headers=headers)).status_code == 200
        key_id = re.search(rf"/dashboard/w/{w}/api-keys/([0-9a-f-]+)/revoke", listing.text)
        assert key_id is not None
        revoked = await team.admin.post(f"/dashboard/w/{w}/api-keys/{key_id.group(1)}/revoke", {})
        assert revoked.status_code == 303
        assert (await api.get("/api/v1/releases", headers=headers)).status_code == 401


async def test_every_change_is_in_the_audit_log_with_before_and_after(
    team: Team, dapp: Application
) -> None:
    w = team.workspace_id
    members = await team.owner.get(f"/dashboard/w/{w}/members")
    import re

    editor_id = re.search(
        rf"/dashboard/w/{w}/members/([0-9a-f-]+)/role\"[^<]*<[^>]*>\s*<label class=\"sr-only\" "
        r"for=\"role-[0-9a-f-]+\">Role of editor@example.com",
        members.text,
    )
    assert editor_id is not None
    changed = await team.owner.post(
        f"/dashboard/w/{w}/members/{editor_id.group(1)}/role", {"role": "viewer"}
    )
    assert changed.status_code == 303
    log = await team.owner.get(f"/dashboard/w/{w}/audit")
    assert "member.role_changed" in log.text
    async with dapp.context.database.sessionmaker() as session:
        entry = (
            await session.execute(
                select(AuditEntry).where(AuditEntry.action == "member.role_changed")
            )
        ).scalar_one()
    assert entry.actor == "owner@example.com"
    assert entry.before == {"role": "editor"}
    assert entry.after == {"role": "viewer"}
    assert entry.target_id == editor_id.group(1)
