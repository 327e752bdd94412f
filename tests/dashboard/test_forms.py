"""Every form: refused without this browser's CSRF token, field errors for bad input, and
no page answers 500 to hostile input."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.dashboard.conftest import PASSWORD, BrowserFactory, Team


async def _forms(team: Team) -> list[tuple[str, dict[str, str]]]:
    w = team.workspace_id
    members = await team.owner.get(f"/dashboard/w/{w}/members")
    some_id = re.search(r"/members/([0-9a-f-]{36})/role", members.text)
    assert some_id
    return [
        (
            "/dashboard/signup",
            {"name": "E", "email": "e@example.com", "password": PASSWORD, "workspace_name": "E"},
        ),
        ("/dashboard/login", {"email": "owner@example.com", "password": PASSWORD}),
        ("/dashboard/logout", {}),
        ("/dashboard/reset", {"email": "owner@example.com"}),
        ("/dashboard/workspaces/new", {"name": "Forged", "kind": "artist"}),
        ("/dashboard/account", {"name": "Forged"}),
        ("/dashboard/account/password", {"current": PASSWORD, "password": "forged password"}),
        (f"/dashboard/w/{w}/members/invite", {"email": "forged@example.com", "role": "admin"}),
        (f"/dashboard/w/{w}/members/{some_id.group(1)}/role", {"role": "viewer"}),
        (f"/dashboard/w/{w}/api-keys", {"name": "forged", "role": "admin"}),
    ]


async def test_no_form_is_accepted_without_its_csrf_token(
    team: Team, browsers: BrowserFactory
) -> None:
    forms = await _forms(team)
    other = await browsers()
    await other.get("/dashboard/login")
    foreign_token = other.csrf
    for path, data in forms:
        missing = await team.owner.post(path, data, csrf=False)
        assert missing.status_code == 403, path
        assert "this form expired or was sent from another site" in missing.text
        foreign = await team.owner.post(path, {**data, "csrf": foreign_token})
        assert foreign.status_code == 403, path
    # Still the owner's own name, workspace list and members: nothing forged got through.
    account = await team.owner.get("/dashboard/account")
    assert "Forged" not in account.text
    members = await team.owner.get(f"/dashboard/w/{team.workspace_id}/members")
    assert "forged@example.com" not in members.text


async def test_sign_up_shows_an_error_next_to_each_bad_field(browsers: BrowserFactory) -> None:
    ada = await browsers()
    await ada.get("/dashboard/signup")
    response = await ada.post(
        "/dashboard/signup",
        {
            "name": "  ",
            "email": "not an address",
            "password": "short",
            "workspace_name": "",
            "kind": "band",
        },
    )
    assert response.status_code == 422
    for name in ("name", "email", "password", "workspace_name", "kind"):
        assert f'id="e-{name}"' in response.text, name
    assert 'value="not an address"' in response.text  # what was typed stays
    assert "short" not in response.text  # passwords are never echoed


@pytest.mark.parametrize(
    ("page", "data", "fields"),
    [
        ("members/invite", {"email": "@", "role": "superuser"}, ("email", "role")),
        ("api-keys", {"name": "", "role": "root"}, ("name", "role")),
    ],
)
async def test_workspace_forms_show_field_errors(
    team: Team, page: str, data: dict[str, str], fields: tuple[str, ...]
) -> None:
    await team.owner.get(f"/dashboard/w/{team.workspace_id}/members")
    response = await team.owner.post(f"/dashboard/w/{team.workspace_id}/{page}", data)
    assert response.status_code == 422
    for name in fields:
        assert f'id="e-{name}"' in response.text, name


async def test_a_wrong_current_password_is_a_field_error(team: Team) -> None:
    await team.owner.get("/dashboard/account")
    response = await team.owner.post(
        "/dashboard/account/password", {"current": "not it at all", "password": "another password"}
    )
    assert response.status_code == 422
    assert 'id="e-current"' in response.text
    assert (await team.owner.log_in("owner@example.com")).status_code == 303


HOSTILE = [
    "\x00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "é" * 5000,
    "../../etc/passwd",
    "\ud800",
    "%00%ff",
    "{{ 7*7 }}",
]


async def test_hostile_input_never_answers_500(team: Team, browsers: BrowserFactory) -> None:
    w = team.workspace_id
    stranger = await browsers()
    await stranger.get("/dashboard/login")
    await team.owner.get("/dashboard/account")
    for value in HOSTILE:
        safe = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        for who, path, data in (
            (stranger, "/dashboard/login", {"email": safe, "password": safe, "next": safe}),
            (stranger, "/dashboard/reset", {"email": safe}),
            (
                stranger,
                "/dashboard/signup",
                {
                    "name": safe,
                    "email": safe,
                    "password": safe,
                    "workspace_name": safe,
                    "kind": safe,
                },
            ),
            (team.owner, f"/dashboard/w/{w}/members/invite", {"email": safe, "role": safe}),
            (team.owner, f"/dashboard/w/{w}/api-keys", {"name": safe, "role": safe}),
            (team.owner, "/dashboard/account", {"name": safe}),
            (team.owner, "/dashboard/workspaces/new", {"name": safe, "kind": safe}),
        ):
            response = await who.post(path, data)
            assert response.status_code < 500, (path, value, response.status_code)
            assert "<script>alert(1)</script>" not in response.text
        quoted = quote(safe, safe="")
        for path in (
            f"/dashboard/invite/{quoted}",
            f"/dashboard/reset/{quoted}",
            f"/dashboard/w/{quoted}/campaigns",
            f"/dashboard/switch?workspace={quoted}",
            f"/dashboard/login?next={quoted}",
        ):
            response = await team.owner.get(path)
            assert response.status_code < 500, (path, response.status_code)


async def test_markup_in_names_is_shown_as_text(team: Team) -> None:
    await team.owner.get("/dashboard/workspaces/new")
    created = await team.owner.post(
        "/dashboard/workspaces/new", {"name": "<img src=x onerror=alert(1)>", "kind": "label"}
    )
    assert created.status_code == 303
    page = await team.owner.get(created.headers["location"])
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


async def test_a_form_larger_than_any_form_is_refused(team: Team) -> None:
    await team.owner.get("/dashboard/account")
    response = await team.owner.post("/dashboard/account", {"name": "x" * 20_000})
    assert response.status_code == 413


async def test_a_body_that_is_not_utf8_is_refused_politely(team: Team) -> None:
    response = await team.owner.client.post(
        "/dashboard/account",
        content=b"name=%ff%fe&csrf=" + team.owner.csrf.encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert response.status_code == 400
    assert "could not be read" in response.text


async def test_login_never_redirects_off_site(browsers: BrowserFactory, team: Team) -> None:
    who = await browsers()
    await who.get("/dashboard/login")
    for target in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/dashboard/../x",
    ):
        response = await who.post(
            "/dashboard/login",
            {"email": "viewer@example.com", "password": PASSWORD, "next": target},
        )
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/dashboard"), location
        assert "evil" not in location


async def test_dashboard_pages_carry_strict_security_headers(team: Team) -> None:
    response = await team.owner.get(f"/dashboard/w/{team.workspace_id}/campaigns")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "private, no-store"


async def test_unknown_dashboard_pages_are_html_404s(team: Team) -> None:
    response = await team.owner.get("/dashboard/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
