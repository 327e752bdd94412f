from datetime import timedelta

from launchlink.config import Settings
from launchlink.links.public import PublicLinkConfig
from tests.links.test_public_support import (
    ANDROID,
    DESKTOP,
    client,
    destination_url,
    make_harness,
    make_snapshot,
)


async def test_a_service_click_redirects_to_that_destination() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive/deezer")
    assert response.status_code == 302
    assert response.headers["location"] == destination_url("deezer")
    assert response.headers["cache-control"] == "private, no-store"
    assert response.content == b""


async def test_a_country_override_changes_the_url() -> None:
    snapshot = make_snapshot(
        country_overrides={"spotify": {"DE": destination_url("spotify", "DE")}}
    )
    harness = make_harness(snapshot)
    async with client(harness, country="DE") as german, client(harness, country="FR") as french:
        in_germany = await german.get("/night-drive/spotify")
        in_france = await french.get("/night-drive/spotify")
    assert in_germany.headers["location"] == destination_url("spotify", "DE")
    assert in_france.headers["location"] == destination_url("spotify")


async def test_the_chosen_service_is_remembered_in_a_strict_cookie() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        response = await fan.get("/night-drive/tidal")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ll_last=tidal;")
    for attribute in ("HttpOnly", "SameSite=Lax", "Secure", "Path=/"):
        assert attribute in cookie


async def test_cookies_are_not_marked_secure_on_a_plain_http_instance() -> None:
    harness = make_harness(make_snapshot(), base_url="http://127.0.0.1:8000")
    async with client(harness, base_url="http://127.0.0.1:8000") as fan:
        response = await fan.get("/night-drive/tidal")
    assert response.status_code == 302
    assert "Secure" not in response.headers["set-cookie"]


def test_cookies_follow_the_scheme_of_the_configured_public_url() -> None:
    assert PublicLinkConfig.from_settings(
        Settings(public_url="https://links.example/")
    ).cookie_policy.secure
    local = PublicLinkConfig.from_settings(Settings(public_url="http://127.0.0.1:8000"))
    assert not local.cookie_policy.secure
    assert local.is_platform_host("127.0.0.1")
    assert not local.is_platform_host("music.adalumen.test")


async def test_the_remembered_service_is_first_on_the_next_visit() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=ANDROID) as fan:
        await fan.get("/night-drive/tidal")
        page = await fan.get("/night-drive")
    assert page.text.index('href="/night-drive/tidal"') < page.text.index(
        'href="/night-drive/spotify"'
    )


async def test_unknown_service_is_a_friendly_404() -> None:
    harness = make_harness(make_snapshot(services=("spotify",)))
    async with client(harness) as fan:
        missing = await fan.get("/night-drive/deezer")
        invalid = await fan.get("/night-drive/Not%20A%20Service")
    for response in (missing, invalid):
        assert response.status_code == 404
        assert "We can’t find this link" in response.text
        assert "location" not in response.headers
    assert harness.clicks == []


async def test_each_redirect_reports_a_click() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, country="BR", referer="https://instagram.example/") as fan:
        await fan.get("/night-drive/spotify")
    [click] = harness.clicks
    assert click.service == "spotify"
    assert click.link_id == make_snapshot().link_id
    assert click.country == "BR"
    assert click.user_agent == DESKTOP
    assert click.referrer == "https://instagram.example/"
    assert click.instant == harness.clock.now()
    assert click.automatic is False


async def test_head_on_a_redirect_sets_no_cookie_and_records_no_click() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        head = await fan.head("/night-drive/spotify?always=1")
    assert head.status_code == 302
    assert head.headers["location"] == destination_url("spotify")
    assert "set-cookie" not in head.headers
    assert [click.method for click in harness.captured_clicks] == ["HEAD"]
    assert harness.clicks == []  # analytics drops a HEAD as a probe


async def test_always_use_sends_the_fan_straight_to_that_service_on_any_link() -> None:
    harness = make_harness(make_snapshot(slug="night-drive"), make_snapshot(slug="second-single"))
    async with client(harness) as fan:
        opt_in = await fan.get("/night-drive/deezer?always=1")
        assert "ll_always=deezer" in opt_in.headers.get_list("set-cookie")[1]
        harness.clock.advance(timedelta(days=3))
        other_link = await fan.get("/second-single")
    assert other_link.status_code == 302
    assert other_link.headers["location"] == destination_url("deezer")
    assert [click.automatic for click in harness.clicks] == [False, True]


async def test_always_use_is_skipped_when_the_link_lacks_that_service() -> None:
    harness = make_harness(make_snapshot(services=("spotify", "tidal")))
    async with client(harness, cookie="ll_always=deezer") as fan:
        response = await fan.get("/night-drive")
    assert response.status_code == 200
    assert "/night-drive?forget=1" in response.text


async def test_choose_shows_the_page_with_a_way_to_forget_the_choice() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, cookie="ll_always=deezer") as fan:
        response = await fan.get("/night-drive?choose=1")
    assert response.status_code == 200
    assert 'href="/night-drive/deezer"' in response.text
    assert 'href="/night-drive?forget=1"' in response.text
    assert "You chose to always open Deezer." in response.text


async def test_forget_clears_the_always_cookie_and_returns_to_the_page() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness) as fan:
        await fan.get("/night-drive/deezer?always=1")
        forget = await fan.get("/night-drive?forget=1")
        assert forget.status_code == 303
        assert forget.headers["location"] == "/night-drive"
        assert forget.headers["set-cookie"].startswith("ll_always=;")
        assert "Max-Age=0" in forget.headers["set-cookie"]
        page = await fan.get("/night-drive")
    assert page.status_code == 200


async def test_head_on_forget_keeps_the_cookie() -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, cookie="ll_always=deezer") as fan:
        head = await fan.head("/night-drive?forget=1")
    assert head.status_code == 303
    assert "set-cookie" not in head.headers


async def test_a_forged_cookie_cannot_point_anywhere_else() -> None:
    harness = make_harness(make_snapshot())
    forged = "ll_always=https://evil.example; ll_last=../../etc"
    async with client(harness, cookie=forged) as fan:
        response = await fan.get("/night-drive")
    assert response.status_code == 200
    assert "evil.example" not in response.text
