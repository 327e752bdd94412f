from __future__ import annotations

from tests.dashboard.conftest import BrowserFactory, Team


async def test_the_team_can_sign_up_and_join(team: Team) -> None:
    response = await team.viewer.get(f"/dashboard/w/{team.workspace_id}/members")
    assert response.status_code == 200
    for role in ("owner", "admin", "editor", "viewer"):
        assert f"{role}@example.com" in response.text


async def test_pages_render(team: Team, browsers: BrowserFactory) -> None:
    w = team.workspace_id
    for path in ("campaigns", "fans", "analytics", "members", "api-keys", "audit"):
        response = await team.owner.get(f"/dashboard/w/{w}/{path}")
        assert response.status_code == 200, (path, response.text)
    for path in ("/dashboard/account", "/dashboard/workspaces/new"):
        response = await team.owner.get(path)
        assert response.status_code == 200, (path, response.text)
