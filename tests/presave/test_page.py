"""The cached pre-save page: each browser's CSRF token goes into the form fields we
generate and nowhere else (operator text and artwork are shown as written), and the page
describes itself in every phase."""

from __future__ import annotations

import html
import re

import httpx

from launchlink.app import Application
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import browser_for, csrf_of, make_presave_link

OLD_PLACEHOLDER = "__LL_CSRF_TOKEN__"
_DESCRIPTION = re.compile(r'<meta name="description" content="([^"]*)">')


def _description(page: str) -> str:
    found = _DESCRIPTION.search(page)
    assert found is not None, "no meta description"
    return html.unescape(found.group(1))


async def test_operator_text_and_artwork_holding_the_token_slot_are_shown_literally(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    artwork = f"https://cdn.example.test/art/{OLD_PLACEHOLDER}.jpg"
    consent = f"Email me about Nova Reyes {OLD_PLACEHOLDER} and nothing else."
    await make_presave_link(
        admin,
        label,
        release={"artwork_url": artwork},
        campaign={"consent_texts": {"email": consent}},
    )
    pages = []
    for _ in range(2):  # two browsers, the second served from the cache
        async with browser_for(papp) as browser:
            response = await browser.get("/soon")
            assert response.status_code == 200
            pages.append(response.text)
    for page in pages:
        assert f'src="{artwork}"' in page
        assert consent in page
        tokens = re.findall(r'name="csrf" value="([^"]+)"', page)
        assert tokens, "the form lost its CSRF field"
        assert len(set(tokens)) == 1
        assert OLD_PLACEHOLDER not in tokens[0]
        assert page.count(tokens[0]) == len(tokens), "the token went outside its fields"
    first, second = (csrf_of(page) for page in pages)
    assert first != second
    assert pages[0].replace(first, "") == pages[1].replace(second, "")


async def test_the_form_still_works_with_the_token_from_the_slot(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    page = await fan.get("/soon")
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(page.text), "service": "spotify"}
    )
    assert started.status_code == 303


async def test_the_presave_page_describes_what_it_offers_and_when(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    page = (await fan.get("/soon")).text
    assert 'id="presave-form"' in page
    assert _description(page) == (
        "Pre-save Midnight Cartography by Nova Reyes now. Out Friday, 6 March 2026, midnight."
    )


async def test_the_announce_page_describes_the_release_and_when_pre_saves_open(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign={"presave_opens_at": "2026-03-03T00:00:00Z"})
    page = (await fan.get("/soon")).text
    assert "Coming soon" in page
    assert _description(page) == (
        "Midnight Cartography by Nova Reyes is out Friday, 6 March 2026, midnight. "
        "Pre-saves open Tuesday, 3 March 2026, midnight."
    )


async def test_the_description_is_in_the_visitors_language(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp, **{"Accept-Language": "de", "CF-IPCountry": "DE"}) as browser:
        page = (await browser.get("/soon")).text
    assert _description(page).startswith("Mach jetzt den Pre-Save von Midnight Cartography")
