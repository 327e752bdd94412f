"""The confirmation page: a clear success, calendar, follow suggestions, sharing — and the
Instagram Stories image drawn for it."""

from __future__ import annotations

import io
import re

import httpx
import pytest

from launchlink.app import Application
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import SPOTIFY_ARTIST_ID, make_presave_link, presave_via_spotify

Image = pytest.importorskip("PIL.Image")  # a dependency; an old environment skips


async def test_the_confirmation_shows_success_calendar_follows_and_sharing(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    callback = await presave_via_spotify(fan)
    assert callback.status_code == 303, callback.text
    page = await fan.get(callback.headers["location"])
    assert page.status_code == 200, page.text
    assert '<div class="success" role="status">' in page.text
    assert re.search(r"<h2 id=\"confirmed\">You(&#39;|')re all set</h2>", page.text)
    assert 'id="add-to-calendar"' in page.text
    follow = f'href="https://open.spotify.com/artist/{SPOTIFY_ARTIST_ID}"'
    assert follow in page.text
    assert "Follow Nova Reyes on Spotify" in page.text
    assert 'href="/presave/soon/story.png" id="story-image" download' in page.text
    assert "https://wa.me/?text=" in page.text


async def test_the_stories_image_is_a_1080_by_1920_png_in_the_fans_language(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    english = await fan.get("/presave/soon/story.png")
    assert english.status_code == 200
    assert english.headers["content-type"] == "image/png"
    assert english.headers["cache-control"] == "public, max-age=3600"
    image = Image.open(io.BytesIO(english.content))
    assert (image.format, image.size) == ("PNG", (1080, 1920))
    german = await fan.get("/presave/soon/story.png", headers={"accept-language": "de"})
    assert german.content != english.content  # "Jetzt pre-saven", not "Pre-save now"
    again = await fan.get("/presave/soon/story.png")
    assert again.content == english.content  # drawn once, then cached


async def test_a_stories_image_of_no_link_is_a_404(
    papp: Application, fan: httpx.AsyncClient
) -> None:
    response = await fan.get("/presave/nothing-here/story.png")
    assert response.status_code == 404


async def test_every_action_on_the_confirmation_leads_somewhere_that_works(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    """Not only present: the calendar file is an event at the release, the Stories image
    a PNG, every share and follow link an absolute address carrying the link."""
    await make_presave_link(admin, label)
    callback = await presave_via_spotify(fan)
    page = (await fan.get(callback.headers["location"])).text
    calendar = re.search(r'<a class="primary" href="([^"]+)" id="add-to-calendar">', page)
    assert calendar is not None
    ics = await fan.get(calendar.group(1).replace("&amp;", "&"))
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.text
    assert "DTSTART:20260306T000000Z" in ics.text.replace("\r\n ", "")
    assert "https://links.example.test/soon" in ics.text.replace("\r\n ", "")
    story = re.search(r'<a href="([^"]+)" id="story-image" download>', page)
    assert story is not None
    image = await fan.get(story.group(1))
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    shares = re.search(r'<ul class="share" id="share">(.*?)</ul>', page, re.S)
    assert shares is not None
    hrefs = re.findall(r'<a href="([^"]+)" rel="noopener">([^<]+)</a>', shares.group(1))
    assert {name for _, name in hrefs} == {"X", "Facebook", "WhatsApp", "Telegram", "Email"}
    for href, name in hrefs:
        assert href.startswith(("https://", "mailto:")), name
        assert "https%3A%2F%2Flinks.example.test%2Fsoon" in href, name
    follows = re.search(r'<ul class="share" id="follow">(.*?)</ul>', page, re.S)
    assert follows is not None
    follow_hrefs = re.findall(r'<a href="([^"]+)"', follows.group(1))
    assert follow_hrefs
    assert all(href.startswith("https://") for href in follow_hrefs)
