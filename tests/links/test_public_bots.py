import pytest

from tests.links.test_public_support import (
    PREVIEW_BOTS,
    client,
    make_harness,
    make_snapshot,
)


@pytest.mark.parametrize("bot", sorted(PREVIEW_BOTS))
async def test_preview_bots_get_the_card_and_never_a_redirect(bot: str) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=PREVIEW_BOTS[bot], cookie="ll_always=spotify") as crawler:
        page = await crawler.get("/night-drive")
        service = await crawler.get("/night-drive/spotify?always=1")
    for response in (page, service):
        assert response.status_code == 200, bot
        assert 'property="og:title"' in response.text
        assert 'name="twitter:card"' in response.text
        assert "location" not in response.headers
        assert "set-cookie" not in response.headers
    assert harness.clicks == []


@pytest.mark.parametrize("user_agent", ["curl/8.5.0", "python-requests/2.32.3", "Wget/1.21.4", ""])
async def test_other_bots_get_the_card_too(user_agent: str) -> None:
    harness = make_harness(make_snapshot())
    async with client(harness, user_agent=user_agent) as crawler:
        response = await crawler.get("/night-drive/spotify")
    assert response.status_code == 200
    assert harness.clicks == []


async def test_bots_see_the_configured_order_and_no_personal_controls() -> None:
    harness = make_harness(make_snapshot())
    async with client(
        harness, user_agent=PREVIEW_BOTS["facebook"], cookie="ll_last=tidal; ll_always=deezer"
    ) as crawler:
        response = await crawler.get("/night-drive")
    assert response.text.index("/night-drive/spotify") < response.text.index("/night-drive/tidal")
    assert "always=1" not in response.text
    assert "forget=1" not in response.text
