"""Roles, enforced on every page and action: a viewer changes nothing, an editor manages no
members, nobody sees another workspace."""

from __future__ import annotations

import re
from uuid import UUID

from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.models import ApiKey, AuditEntry, Invitation, Membership
from tests.dashboard.conftest import Browser, BrowserFactory, Team

PAGES = ("campaigns", "fans", "analytics", "members")
MANAGER_PAGES = ("api-keys", "audit")


def _member_id(page: str, email: str) -> str:
    found = re.search(
        r"/members/([0-9a-f-]{36})/role\"[^<]*<[^>]*>\s*<label class=\"sr-only\" "
        rf"for=\"role-[0-9a-f-]+\">Role of {re.escape(email)}",
        page,
    )
    assert found, f"no role form for {email}"
    return found.group(1)


async def _state(app: Application) -> tuple[int, ...]:
    async with app.context.database.sessionmaker() as session:
        counts = []
        for model in (AuditEntry, Invitation, Membership, ApiKey):
            counts.append(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
        roles = (
            await session.execute(select(Membership.role).order_by(Membership.user_id))
        ).scalars()
        return (*counts, *(hash(r) for r in roles))


async def _actions(team: Team) -> list[tuple[str, dict[str, str]]]:
    w = team.workspace_id
    members = await team.owner.get(f"/dashboard/w/{w}/members")
    owner_id = _member_id(members.text, "owner@example.com")
    admin_id = _member_id(members.text, "admin@example.com")
    await team.owner.post(
        f"/dashboard/w/{w}/members/invite", {"email": "new@example.com", "role": "viewer"}
    )
    await team.owner.post(f"/dashboard/w/{w}/api-keys", {"name": "ci", "role": "viewer"})
    keys = await team.owner.get(f"/dashboard/w/{w}/api-keys")
    key_id = re.search(r"/api-keys/([0-9a-f-]{36})/revoke", keys.text)
    members = await team.owner.get(f"/dashboard/w/{w}/members")
    invitation_id = re.search(r"/invitations/([0-9a-f-]{36})/withdraw", members.text)
    assert key_id
    assert invitation_id
    return [
        (f"/dashboard/w/{w}/members/invite", {"email": "x@example.com", "role": "viewer"}),
        (f"/dashboard/w/{w}/members/{admin_id}/role", {"role": "viewer"}),
        (f"/dashboard/w/{w}/members/{owner_id}/role", {"role": "viewer"}),
        (f"/dashboard/w/{w}/members/{admin_id}/remove", {}),
        (f"/dashboard/w/{w}/invitations/{invitation_id.group(1)}/withdraw", {}),
        (f"/dashboard/w/{w}/api-keys", {"name": "mine", "role": "admin"}),
        (f"/dashboard/w/{w}/api-keys/{key_id.group(1)}/revoke", {}),
    ]


async def _refused_everything(who: Browser, actions: list[tuple[str, dict[str, str]]]) -> None:
    await who.get("/dashboard/account")  # a fresh CSRF token: refusals must come from the role
    for path, data in actions:
        response = await who.post(path, data)
        assert response.status_code == 403, (path, response.status_code)


async def test_a_viewer_sees_every_page_but_changes_nothing(team: Team, dapp: Application) -> None:
    for page in PAGES:
        response = await team.viewer.get(f"/dashboard/w/{team.workspace_id}/{page}")
        assert response.status_code == 200, page
    members = await team.viewer.get(f"/dashboard/w/{team.workspace_id}/members")
    assert "Send invitation" not in members.text
    assert "Change role" not in members.text
    for page in MANAGER_PAGES:
        response = await team.viewer.get(f"/dashboard/w/{team.workspace_id}/{page}")
        assert response.status_code == 403, page
    actions = await _actions(team)
    before = await _state(dapp)
    await _refused_everything(team.viewer, actions)
    assert await _state(dapp) == before


async def test_an_editor_manages_no_members_and_no_keys(team: Team, dapp: Application) -> None:
    actions = await _actions(team)
    before = await _state(dapp)
    await _refused_everything(team.editor, actions)
    assert await _state(dapp) == before


async def test_an_admin_cannot_touch_an_owner_or_make_one(team: Team, dapp: Application) -> None:
    w = team.workspace_id
    members = await team.admin.get(f"/dashboard/w/{w}/members")
    assert 'value="owner"' not in members.text  # not offered to an admin
    owner_id = _member_id(
        (await team.owner.get(f"/dashboard/w/{w}/members")).text, "owner@example.com"
    )
    editor_id = _member_id(members.text, "editor@example.com")
    before = await _state(dapp)
    demote = await team.admin.post(f"/dashboard/w/{w}/members/{owner_id}/role", {"role": "viewer"})
    promote = await team.admin.post(f"/dashboard/w/{w}/members/{editor_id}/role", {"role": "owner"})
    remove = await team.admin.post(f"/dashboard/w/{w}/members/{owner_id}/remove", {})
    invite = await team.admin.post(
        f"/dashboard/w/{w}/members/invite", {"email": "boss@example.com", "role": "owner"}
    )
    assert [demote.status_code, promote.status_code, remove.status_code] == [422, 422, 403]
    assert invite.status_code == 422
    assert "only an owner can" in promote.text
    assert await _state(dapp) == before


async def test_the_last_owner_cannot_leave(team: Team) -> None:
    w = team.workspace_id
    members = await team.owner.get(f"/dashboard/w/{w}/members")
    owner_id = _member_id(members.text, "owner@example.com")
    response = await team.owner.post(f"/dashboard/w/{w}/members/{owner_id}/role", {"role": "admin"})
    assert response.status_code == 422
    assert "at least one owner" in response.text


async def test_an_admin_manages_members(team: Team) -> None:
    w = team.workspace_id
    members = await team.admin.get(f"/dashboard/w/{w}/members")
    viewer_id = _member_id(members.text, "viewer@example.com")
    changed = await team.admin.post(
        f"/dashboard/w/{w}/members/{viewer_id}/role", {"role": "editor"}
    )
    assert changed.status_code == 303
    removed = await team.admin.post(f"/dashboard/w/{w}/members/{viewer_id}/remove", {})
    assert removed.status_code == 303
    gone = await team.viewer.get(f"/dashboard/w/{w}/campaigns")
    assert gone.status_code == 404


async def test_nobody_sees_another_workspace(team: Team, browsers: BrowserFactory) -> None:
    # The owner's second workspace: the others are members of the first only.
    await team.owner.get("/dashboard/workspaces/new")
    created = await team.owner.post(
        "/dashboard/workspaces/new", {"name": "Side Project", "kind": "label"}
    )
    assert created.status_code == 303
    other = UUID(created.headers["location"].split("/")[3])
    assert other != team.workspace_id
    owner_members = (await team.owner.get(f"/dashboard/w/{other}/members")).text
    owner_id = _member_id(owner_members, "owner@example.com")
    for who in (team.admin, team.editor, team.viewer):
        for page in (*PAGES, *MANAGER_PAGES):
            response = await who.get(f"/dashboard/w/{other}/{page}")
            assert response.status_code == 404, page
            assert "Side Project" not in response.text
        await who.get("/dashboard/account")
        for path, data in (
            (f"/dashboard/w/{other}/members/invite", {"email": "x@example.com", "role": "admin"}),
            (f"/dashboard/w/{other}/api-keys", {"name": "k", "role": "admin"}),
            (f"/dashboard/w/{other}/members/{owner_id}/remove", {}),
        ):
            assert (await who.post(path, data)).status_code == 404
        switcher = await who.get(f"/dashboard/w/{team.workspace_id}/campaigns")
        assert "Side Project" not in switcher.text
    anonymous = await browsers()
    response = await anonymous.get(f"/dashboard/w/{other}/campaigns")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login")
