"""Every dashboard route, enumerated from the app itself (a route added later is covered
without editing this file): roles (each POST refused below the role it declares, a viewer
changes nothing (every row of every table compared), member management is admin+), CSRF
on every POST, another workspace's ids answer 404 everywhere, junk in any field, query or
path is accepted or refused with a reason shown (never a 500 or a bare status); and every
form found on the pages answers wrong input with an error next to one of its fields."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from uuid import UUID

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import BaseRoute

from launchlink.app import Application
from launchlink.dashboard.app import create_dashboard
from launchlink.dashboard.kit import Need
from launchlink.db import Base
from launchlink.kit.clock import FrozenClock
from launchlink.models.accounts import Role
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import Browser, BrowserFactory, Inbox, invite_and_join
from tests.dashboard.test_roles import _member_id

# After the demo album is out: a paste of it finds it on the simulated services.
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PREFIX = "/dashboard"
# Written by reading (sessions seen, rate-limit counters), not by a refused change.
READ_SIDE_TABLES = {"user_session", "presave_rate_hit"}
SERVICE_CHECKED = {
    "/dashboard/w/{workspace_id}/members/{user_id}/remove": "anyone may leave a workspace; "
    "removing someone else is checked by accounts.people.remove_member (owners and admins)",
}
"""POST routes open to every member whose service decides the rest (tested on a target
that the role may not touch)."""


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@dataclass(frozen=True)
class DashboardRoute:
    path: str
    method: str
    need: Need | None
    """The role the route declares with ``member(Need.…)``; None: not a workspace route."""

    @property
    def in_workspace(self) -> bool:
        return "{workspace_id}" in self.path


def _need_of(route: APIRoute) -> Need | None:
    for dependency in route.dependant.dependencies:
        call = dependency.call
        if call is not None and getattr(call, "__name__", "") == "_member":
            need = inspect.getclosurevars(call).nonlocals["need"]
            assert isinstance(need, Need)
            return need
    return None


def _api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        # FastAPI keeps an included router as one node holding the router it includes.
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _api_routes(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def dashboard_routes(app: Application) -> list[DashboardRoute]:
    """The routes of the dashboard app as launchlink.app mounts it."""
    dashboard = create_dashboard(app.context)
    found = []
    for path, route in _api_routes(dashboard.routes):
        for method in sorted(route.methods - {"HEAD"}):
            found.append(DashboardRoute(PREFIX + path, method, _need_of(route)))
    return found


def fill(path: str, *, workspace_id: UUID, link_id: UUID | str, **given: str) -> str:
    """A concrete URL: the given workspace and link, a fresh id for any other id."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "workspace_id":
            return str(workspace_id)
        if name == "link_id":
            return str(link_id)
        if name in given:
            return given[name]
        if name == "kind":
            return "svg" if "/qr." in path else "csv"
        if name == "service":
            return "spotify"
        if name == "token":
            return "not-a-real-token"
        return str(uuid.uuid4())

    return re.sub(r"\{(\w+)\}", value, path)


async def _table_state(app: Application) -> dict[str, str]:
    """A digest of every row of every table: a refused request that changed any column of
    any row (not only a count or an ``updated_at``) changes the state."""
    state = {}
    async with app.context.database.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in READ_SIDE_TABLES:
                continue
            rows = (await session.execute(select(table))).all()
            digest = hashlib.sha256()
            for row in sorted(repr(tuple(row)) for row in rows):
                digest.update(row.encode())
            state[table.name] = f"{len(rows)}:{digest.hexdigest()}"
    return state


@dataclass
class World:
    """Workspace A (owner, admin, editor, viewer, one campaign) and the owner's workspace B
    (one campaign) that nobody else belongs to."""

    a: UUID
    b: UUID
    link_a: UUID
    link_b: UUID
    owner: Browser
    people: dict[Role, Browser]
    outsider: Browser
    """A member of A only (the editor), used against B."""


async def _launch(browser: Browser, workspace: UUID, slug: str) -> UUID:
    await browser.get(f"{PREFIX}/w/{workspace}/campaigns/new")
    created = await browser.post(
        f"{PREFIX}/w/{workspace}/campaigns",
        {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": slug},
    )
    assert created.status_code == 303, created.text
    return UUID(created.headers["location"].split("?")[0].rsplit("/", 1)[1])


@pytest.fixture
async def world(
    artist: tuple[Browser, str], browsers_on_sim: BrowserFactory, inbox: Inbox
) -> World:
    owner, base = artist
    a = UUID(base.rsplit("/", 1)[1])
    people: dict[Role, Browser] = {Role.owner: owner}
    for role in (Role.admin, Role.editor, Role.viewer):
        people[role] = await browsers_on_sim()
        await invite_and_join(
            owner, people[role], inbox, a, f"{role.value}@example.com", role.value
        )
    link_a = await _launch(owner, a, "in-a")
    await owner.get(f"{PREFIX}/workspaces/new")
    created = await owner.post(f"{PREFIX}/workspaces/new", {"name": "Side B", "kind": "label"})
    assert created.status_code == 303, created.text
    b = UUID(created.headers["location"].split("/")[3])
    link_b = await _launch(owner, b, "in-b")
    return World(a, b, link_a, link_b, owner, people, people[Role.editor])


def test_the_enumeration_finds_the_dashboard_and_every_workspace_post_declares_a_role(
    sim_app: Application,
) -> None:
    routes = dashboard_routes(sim_app)
    posts = [r for r in routes if r.method == "POST"]
    assert len(posts) >= 25  # sanity: the enumeration sees the app's routes
    for route in routes:
        if route.in_workspace:
            assert route.need is not None, f"{route.method} {route.path} checks no role"
    for route in posts:
        if route.in_workspace and route.path not in SERVICE_CHECKED:
            # Nothing a viewer may change: every workspace action needs editor or more.
            assert route.need is not None
            assert route.need.value.rank >= Need.edit.value.rank, route.path
        if re.search(r"/(members|invitations|api-keys)\b", route.path) and (
            route.path not in SERVICE_CHECKED
        ):
            assert route.need is not None
            assert route.need.value.rank >= Need.manage.value.rank, route.path


async def test_every_workspace_post_is_refused_below_its_role_and_changes_nothing(
    world: World, sim_app: Application
) -> None:
    posts = [r for r in dashboard_routes(sim_app) if r.method == "POST" and r.in_workspace]
    members = await world.owner.get(f"{PREFIX}/w/{world.a}/members")
    owner_id = _member_id(members.text, "nova@example.com")
    before = await _table_state(sim_app)
    for role in (Role.viewer, Role.editor, Role.admin):
        who = world.people[role]
        await who.get(f"{PREFIX}/account")  # a fresh CSRF token: refusals come from the role
        for route in posts:
            assert route.need is not None
            if role.rank >= route.need.value.rank and route.path not in SERVICE_CHECKED:
                continue
            # Open-to-all routes are aimed at the owner, whom no other role may touch.
            url = fill(
                route.path, workspace_id=world.a, link_id=world.link_a, user_id=str(owner_id)
            )
            response = await who.post(url, {"email": "x@example.com", "role": "owner"})
            assert response.status_code == 403, (role, url, response.status_code)
    assert await _table_state(sim_app) == before


def _every_post(routes: list[DashboardRoute]) -> Iterator[DashboardRoute]:
    # Logging out last: the browser stays signed in for the others.
    posts = [r for r in routes if r.method == "POST"]
    yield from sorted(posts, key=lambda r: r.path.endswith("/logout"))


async def test_every_post_without_this_browsers_csrf_token_is_refused(
    world: World, sim_app: Application
) -> None:
    before = await _table_state(sim_app)
    for route in _every_post(dashboard_routes(sim_app)):
        url = fill(route.path, workspace_id=world.a, link_id=world.link_a)
        for token in (None, "forged-token"):
            data = {"name": "Changed", "email": "x@example.com", "role": "viewer"}
            if token is not None:
                data["csrf"] = token
            response = await world.owner.post(url, data, csrf=False)
            assert response.status_code == 403, (url, token, response.status_code)
            assert "expired or was sent from another site" in response.text or (
                "upload could not be read" in response.text
            ), url
    assert await _table_state(sim_app) == before


async def test_nobody_reaches_another_workspace_or_its_links_on_any_route(
    world: World, sim_app: Application
) -> None:
    routes = [r for r in dashboard_routes(sim_app) if r.in_workspace]
    before = await _table_state(sim_app)
    await world.outsider.get(f"{PREFIX}/account")
    for route in routes:
        # A member of A only, with B's workspace id (and B's link).
        url = fill(route.path, workspace_id=world.b, link_id=world.link_b)
        if route.method == "GET":
            response = await world.outsider.get(url)
        else:
            response = await world.outsider.post(url, {"name": "x"})
        assert response.status_code == 404, (url, response.status_code)
        assert "Side B" not in response.text
        if "{link_id}" not in route.path:
            continue
        # B's link under A's id, by A's owner (who is in B too): no link of A has that id.
        url = fill(route.path, workspace_id=world.a, link_id=world.link_b)
        if route.method == "GET":
            response = await world.owner.get(url)
        else:
            response = await world.owner.post(url, {"name": "x"})
        assert response.status_code == 404, (url, response.status_code)
    assert await _table_state(sim_app) == before


JUNK: dict[str, str] = {
    "unicode": "Ñová ☃ 😀 \u202eevil\u202c \u0301 ﷽",
    "markup": "<script>alert(1)</script>\"'&{{7*7}}%s\\",
    "nul": "a\x00b",
    "oversized": "x" * 250,  # past every 200-character limit, the body under 16 KB
    "huge": "x" * 20_000,  # the body past the form limit
    "numbers": "-1e309",
    "blank": "   ",
}


JUNK_ANSWERS = {200, 303, 400, 403, 404, 409, 413, 422}
"""Accepted (junk that is valid text), or refused: unreadable, forbidden, unknown, clashing,
too large, invalid."""


def reason_shown(html: str) -> str:
    """The specific message a refusal shows: a field's error, or the error page's reason
    (or, from the app-wide body limit in front of every page, the JSON error's message)."""
    if html.startswith('{"error"'):
        return str(json.loads(html)["error"]["message"])
    field_error = re.search(r'class="(?:field-error|notice error)"[^>]*>([^<]+)<', html)
    if field_error:
        return field_error.group(1).strip()
    card = re.search(r'<p class="eyebrow">Error \d+</p>\s*<h1>[^<]*</h1>\s*<p>([^<]*)</p>', html)
    return card.group(1).strip() if card else ""


def _field_names() -> set[str]:
    """Every field name a dashboard form reads (the form models' fields, and the names the
    templates post), so junk reaches every parser."""
    from launchlink.dashboard import design, forms, messaging, release, settings_pages

    names = {"csrf", "email", "password", "name", "role", "paste", "slug", "csv", "enabled"}
    for module in (forms, design, release, settings_pages, messaging):
        for value in vars(module).values():
            fields = getattr(value, "model_fields", None)
            if isinstance(fields, dict):
                for name, info in fields.items():
                    names.add(info.alias or name)
    names |= {f"position.{s}" for s in ("spotify", "apple_music")}
    names |= {f"mode.{s}" for s in ("spotify", "apple_music")}
    names |= {f"visible.{s}" for s in ("spotify", "apple_music")}
    return names


@pytest.mark.parametrize("kind", sorted(JUNK))
async def test_every_post_answers_junk_in_any_field_with_a_reason_and_never_500(
    world: World, sim_app: Application, kind: str
) -> None:
    names = _field_names() - {"csrf"}
    for route in _every_post(dashboard_routes(sim_app)):
        url = fill(route.path, workspace_id=world.a, link_id=world.link_a)
        await world.owner.get(f"{PREFIX}/account")
        for data in ({}, dict.fromkeys(names, JUNK[kind])):
            response = await world.owner.post(url, data)
            status = response.status_code
            assert status in JUNK_ANSWERS, (url, kind, status, response.text[:300])
            if status >= 400:
                # Refused with a reason a person can act on, not a bare status.
                assert len(reason_shown(response.text)) >= 12, (
                    url,
                    kind,
                    status,
                    re.sub(r"\s+", " ", response.text)[-1500:],
                )


async def test_every_page_answers_junk_in_its_query_or_path_with_a_reason_and_never_500(
    world: World, sim_app: Application
) -> None:
    names = sorted(_field_names() | {"from", "to", "campaign", "before", "next", "done"})
    gets = [r for r in dashboard_routes(sim_app) if r.method == "GET"]
    for route in gets:
        url = fill(route.path, workspace_id=world.a, link_id=world.link_a)
        for junk in JUNK.values():
            query = {name: junk[:250] for name in names}
            response = await world.owner.client.get(url, params=query)
            _assert_answered(response, url)
        # Ids that are no ids, and unknown kinds.
        broken = re.sub(r"\{\w+\}", "%E2%98%83..%00", route.path)
        response = await world.owner.client.get(broken)
        _assert_answered(response, broken)


def _assert_answered(response: httpx.Response, url: str) -> None:
    """Shown, sent elsewhere, or refused with a reason; never a server error."""
    status = response.status_code
    assert status in JUNK_ANSWERS | {302, 307, 308}, (url, status, response.text[:300])
    if status >= 400 and "text/html" in response.headers.get("content-type", ""):
        assert len(reason_shown(response.text)) >= 12, (url, status, response.text[-600:])


TEXT_TYPES = {
    "text",
    "email",
    "password",
    "date",
    "time",
    "number",
    "url",
    "search",
    "tel",
    "color",
}
WRONG = "x" * 250  # past every 200-character limit, and no address, date, zone or number


@dataclass
class Form:
    action: str
    multipart: bool
    fixed: dict[str, str] = field(default_factory=dict)
    """Hidden inputs, checked boxes and radios, chosen options: sent as they are."""
    typed: list[str] = field(default_factory=list)
    """Fields a person types into: sent wrong."""


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(
                action=a.get("action", ""),
                multipart="multipart" in a.get("enctype", ""),
            )
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in TEXT_TYPES:
                form.typed.append(name)
            elif kind == "hidden" or (kind in ("checkbox", "radio") and "checked" in a):
                form.fixed[name] = a.get("value", "on")
        elif tag == "textarea" and name:
            form.typed.append(name)
        elif tag == "select" and name:
            self._select, self._select_first = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                form.fixed.setdefault(self._select, value)
            if "selected" in a:
                form.fixed[self._select] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


async def _pages(world: World, sim_app: Application) -> list[str]:
    urls = []
    for route in dashboard_routes(sim_app):
        if route.method != "GET" or "." in route.path.rsplit("/", 1)[-1]:
            continue  # downloads (CSV, QR codes, exports) carry no forms
        if "{" in route.path.replace("{workspace_id}", "").replace("{link_id}", ""):
            continue  # pages of tokens from emails (tested with their own flows)
        urls.append(fill(route.path, workspace_id=world.a, link_id=world.link_a))
    return urls


async def test_every_form_on_every_page_answers_wrong_input_with_a_field_error(
    world: World, sim_app: Application
) -> None:
    owner: Browser = world.owner
    seen: set[tuple[str, tuple[str, ...]]] = set()
    checked = 0
    for url in await _pages(world, sim_app):
        response = await owner.get(url)
        if response.status_code != 200 or "text/html" not in response.headers.get(
            "content-type", ""
        ):
            continue
        for form in forms_of(response.text):
            key = (re.sub(r"[0-9a-f-]{36}", "ID", form.action), tuple(sorted(form.typed)))
            if not form.typed or form.multipart or key in seen or "/logout" in form.action:
                continue
            seen.add(key)
            await owner.get(url)  # this page's CSRF token
            data = {**form.fixed, **dict.fromkeys(form.typed, WRONG)}
            data.pop("csrf", None)
            answer = await owner.post(form.action or url, data)
            assert answer.status_code in (400, 409, 422), (url, form.action, answer.status_code)
            shown = set(re.findall(r'class="field-error" id="e-([^"]+)"', answer.text))
            # One page may hold a form per item: its error ids then carry the item's key.
            names = {n.replace(".", "-") for n in form.typed} | set(form.typed)
            mine = {e for e in shown for n in names if e == n or e.endswith("-" + n)}
            assert mine, (url, form.action, form.typed, shown)
            checked += 1
    assert checked >= 10, checked  # sanity: the pages' forms were found
