"""A campaign from one paste looks the release up as the workspace's own service app
(Settings → Service apps) when it brought one, as the instance's app otherwise; an own app
the service refuses is a permanent error on the paste form, recorded on the app's row.
Seen from the simulator: which app the lookup's token was issued to."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.simulator.demo import DEMO_ALBUM
from launchlink.simulator.profile import DEMO_CLIENT_ID
from launchlink.simulator.state import SimulatorState
from tests.dashboard.conftest import Browser

LABEL_APP, LABEL_SECRET = "label-spotify-app", "label-secret-0001"
PASTE = DEMO_ALBUM.service_urls["spotify"]


@pytest.fixture
def clock() -> FrozenClock:
    # After the demo album is out: the simulated services show it from its release day.
    return FrozenClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


def simulator(app: Application) -> SimulatorState:
    assert app.simulator_state is not None
    return app.simulator_state


def spotify_app_tokens(sim: SimulatorState) -> set[str]:
    """The apps the simulated Spotify issued app-only (client credentials) tokens to."""
    return {
        token.client_id
        for token in sim.access_tokens.values()
        if token.service == "spotify" and token.grant is None
    }


async def bring_spotify_app(browser: Browser, base: str, secret: str) -> None:
    await browser.get(f"{base}/service-apps")
    saved = await browser.post(
        f"{base}/service-apps", {"service": "spotify", "client_id": LABEL_APP, "secret": secret}
    )
    assert saved.status_code == 303, saved.text


async def test_a_paste_is_looked_up_as_the_workspaces_own_spotify_app(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    sim = simulator(sim_app)
    sim.upsert_app("spotify", LABEL_APP, client_secret=LABEL_SECRET)
    await bring_spotify_app(browser, base, LABEL_SECRET)
    await browser.get(f"{base}/campaigns/new")
    found = await browser.post(f"{base}/campaigns/new", {"paste": PASTE})
    assert found.status_code == 200, found.text
    assert DEMO_ALBUM.title in found.text
    assert spotify_app_tokens(sim) == {LABEL_APP}
    created = await browser.post(f"{base}/campaigns", {"paste": PASTE, "slug": "own-app"})
    assert created.status_code == 303, created.text
    assert spotify_app_tokens(sim) == {LABEL_APP}


async def test_without_its_own_app_a_paste_is_looked_up_as_the_instances_app(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    sim = simulator(sim_app)
    sim.upsert_app("spotify", LABEL_APP, client_secret=LABEL_SECRET)
    await browser.get(f"{base}/campaigns/new")
    found = await browser.post(f"{base}/campaigns/new", {"paste": PASTE})
    assert found.status_code == 200, found.text
    assert DEMO_ALBUM.title in found.text
    assert spotify_app_tokens(sim) == {DEMO_CLIENT_ID}


async def test_an_own_app_the_service_refuses_is_a_lasting_error_on_the_paste_form(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    sim = simulator(sim_app)
    sim.upsert_app("spotify", LABEL_APP, client_secret=LABEL_SECRET)
    await bring_spotify_app(browser, base, "not-the-secret-0009")
    await browser.get(f"{base}/campaigns/new")
    refused = await browser.post(f"{base}/campaigns/new", {"paste": PASTE})
    assert refused.status_code == 422, refused.text
    assert 'id="e-paste"' in refused.text
    message = refused.text.split('id="e-paste"', 1)[1].split("</p>", 1)[0]
    assert LABEL_APP in message
    assert "invalid_client" in message
    assert "Settings → Service apps" in message
    assert "try again" not in message
    assert spotify_app_tokens(sim) == set()
    # Recorded: the next paste does not ask Spotify again, and says why; so does Settings.
    again = await browser.post(f"{base}/campaigns", {"paste": PASTE, "slug": "refused"})
    assert again.status_code == 422, again.text
    message = again.text.split('id="e-paste"', 1)[1].split("</p>", 1)[0]
    assert "was refused by the service" in message
    assert "Settings → Service apps" in message
    settings = await browser.get(f"{base}/service-apps")
    assert "refused by the service (invalid_client" in settings.text
    listing = await browser.get(f"{base}/campaigns")
    assert "/refused" not in listing.text
