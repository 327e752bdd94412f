"""SoundCloud, YouTube and Odesli: the smaller services."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx

from launchlink.simulator.services.youtube import PACIFIC
from tests.simulator.conftest import REDIRECT, Sim

SC = "/soundcloud/api"
YT = "/google/youtube/v3"
YT_SCOPE = "https://www.googleapis.com/auth/youtube"


def sc_headers(sim: Sim, user: str = "ana") -> dict[str, str]:
    sim.state.upsert_app(
        "soundcloud", "sc-app", client_secret="sc-secret", redirect_uris=[REDIRECT]
    )
    access, _ = sim.state.mint_user_token("soundcloud", "sc-app", user, ["*"])
    return {"Authorization": f"OAuth {access.token}"}


def yt_headers(sim: Sim, user: str = "ana", **app: object) -> dict[str, str]:
    sim.state.upsert_app(
        "youtube", "yt-app", client_secret="g-secret", redirect_uris=[REDIRECT], **app
    )
    access, _ = sim.state.mint_user_token("youtube", "yt-app", user, [YT_SCOPE])
    return {"Authorization": f"Bearer {access.token}"}


async def test_soundcloud_follow_is_201_then_200(sim: Sim) -> None:
    h = sc_headers(sim)
    urn = f"soundcloud:users:{sim.state.catalog.artists['nova'].ids['soundcloud']}"
    first = await sim.client.put(f"{SC}/me/followings/{urn}", headers=h)
    second = await sim.client.put(f"{SC}/me/followings/{urn}", headers=h)
    assert (first.status_code, second.status_code) == (201, 200)
    assert [e.outcome for e in sim.state.ledger.query(service="soundcloud")] == ["added", "already"]


async def test_soundcloud_like_of_a_track_is_ledgered(sim: Sim) -> None:
    urn = f"soundcloud:tracks:{sim.album.tracks[0].ids['soundcloud']}"
    response = await sim.client.post(f"{SC}/likes/tracks/{urn}", headers=sc_headers(sim))
    assert response.status_code == 200
    assert sim.state.ledger.query(action="like_track")[0].item == urn


async def test_soundcloud_resolve_redirects_to_the_playlist(sim: Sim) -> None:
    h = sc_headers(sim)
    response = await sim.client.get(
        f"{SC}/resolve",
        params={"url": "https://soundcloud.com/nova-reyes/sets/test-record"},
        headers=h,
    )
    assert response.status_code == 302
    assert response.headers["location"].endswith(
        f"/playlists/soundcloud:playlists:{sim.album.ids['soundcloud']}"
    )


async def test_soundcloud_search_finds_the_set_by_title_and_artist(sim: Sim) -> None:
    response = await sim.client.get(
        f"{SC}/playlists", params={"q": "test record nova"}, headers=sc_headers(sim)
    )
    assert [p["title"] for p in response.json()] == ["Test Record"]


async def test_soundcloud_refresh_tokens_are_single_use(sim: Sim) -> None:
    sc_headers(sim)
    verifier = "z" * 43
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    sim.state.set_consent_mode("soundcloud", "auto_approve")
    authorize = await sim.client.get(
        "/soundcloud/secure/authorize",
        params={
            "client_id": "sc-app",
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    code = httpx.URL(authorize.headers["location"]).params["code"]
    base = {"client_id": "sc-app", "client_secret": "sc-secret", "redirect_uri": REDIRECT}
    tokens = await sim.client.post(
        "/soundcloud/secure/oauth/token",
        data=base | {"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
    )
    old = tokens.json()["refresh_token"]
    rotated = await sim.client.post(
        "/soundcloud/secure/oauth/token",
        data=base | {"grant_type": "refresh_token", "refresh_token": old},
    )
    reused = await sim.client.post(
        "/soundcloud/secure/oauth/token",
        data=base | {"grant_type": "refresh_token", "refresh_token": old},
    )
    assert rotated.json()["refresh_token"] != old
    assert reused.json()["error"] == "invalid_grant"


async def test_soundcloud_429_has_its_error_body(sim: Sim) -> None:
    h = sc_headers(sim)
    sim.state.set_faults("soundcloud", burst_429=1)
    response = await sim.client.get(f"{SC}/me", headers=h)
    assert response.status_code == 429
    assert response.json()["code"] == 429


async def test_youtube_duplicate_subscription_is_a_400_subscription_duplicate(sim: Sim) -> None:
    h = yt_headers(sim)
    body = {
        "snippet": {
            "resourceId": {
                "kind": "youtube#channel",
                "channelId": sim.state.catalog.artists["nova"].ids["youtube"],
            }
        }
    }
    first = await sim.client.post(
        f"{YT}/subscriptions", params={"part": "snippet"}, json=body, headers=h
    )
    second = await sim.client.post(
        f"{YT}/subscriptions", params={"part": "snippet"}, json=body, headers=h
    )
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"]["errors"][0]["reason"] == "subscriptionDuplicate"
    assert [e.outcome for e in sim.state.ledger.query(action="subscribe")] == ["added", "already"]


async def test_youtube_writes_cost_fifty_units_until_the_quota_is_gone(sim: Sim) -> None:
    h = yt_headers(sim, daily_quota=100)
    video = sim.album.tracks[0].ids["youtube"]
    statuses = [
        (
            await sim.client.post(
                f"{YT}/videos/rate", params={"id": video, "rating": "like"}, headers=h
            )
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [204, 204, 403]
    response = await sim.client.post(
        f"{YT}/videos/rate", params={"id": video, "rating": "like"}, headers=h
    )
    assert response.json()["error"]["errors"][0]["reason"] == "quotaExceeded"


async def test_youtube_quota_resets_at_pacific_midnight(sim: Sim) -> None:
    h = yt_headers(sim, daily_quota=50)
    video = sim.album.tracks[0].ids["youtube"]
    await sim.client.post(f"{YT}/videos/rate", params={"id": video, "rating": "like"}, headers=h)
    sim.clock.advance(3 * 3600)  # 06:00 UTC + 3 h = 09:00 UTC = 01:00 Pacific (PST) next day
    h = yt_headers(sim, daily_quota=50)
    response = await sim.client.post(
        f"{YT}/videos/rate", params={"id": video, "rating": "like"}, headers=h
    )
    assert response.status_code == 204


async def test_youtube_search_has_its_own_hundred_call_bucket(sim: Sim) -> None:
    h = yt_headers(sim, search_daily_quota=2)
    calls = [
        (
            await sim.client.get(
                f"{YT}/search", params={"q": "Test Record", "type": "playlist"}, headers=h
            )
        )
        for _ in range(3)
    ]
    assert [c.status_code for c in calls] == [200, 200, 403]
    assert calls[0].json()["items"][0]["id"]["playlistId"] == sim.album.ids["youtube"]


async def test_youtube_lists_videos_and_album_playlists_by_id_with_an_api_key(sim: Sim) -> None:
    yt_headers(sim)
    video = sim.album.tracks[0].ids["youtube"]
    videos = await sim.client.get(
        f"{YT}/videos", params={"part": "snippet", "id": video, "key": "yt-app"}
    )
    playlists = await sim.client.get(
        f"{YT}/playlists",
        params={"part": "snippet", "id": sim.album.ids["youtube"], "key": "yt-app"},
    )
    assert videos.json()["items"][0]["snippet"]["title"] == "First Light"
    assert playlists.json()["items"][0]["snippet"]["title"] == "Album - Test Record"


async def test_youtube_lists_an_albums_videos_page_by_page_for_a_unit_each(sim: Sim) -> None:
    yt_headers(sim)
    playlist = sim.album.ids["youtube"]
    query = {"part": "contentDetails", "playlistId": playlist, "key": "yt-app", "maxResults": "1"}
    first = await sim.client.get(f"{YT}/playlistItems", params=query)
    assert first.status_code == 200
    token = first.json()["nextPageToken"]
    second = await sim.client.get(f"{YT}/playlistItems", params={**query, "pageToken": token})
    videos = [
        item["contentDetails"]["videoId"]
        for page in (first, second)
        for item in page.json()["items"]
    ]
    assert videos == [t.ids["youtube"] for t in sim.album.tracks]
    assert "nextPageToken" not in second.json()
    day = sim.state.now().astimezone(PACIFIC).date().isoformat()
    assert sim.state.youtube_usage[("yt-app", day, "default")] == 2


async def test_youtube_playlist_items_of_an_unreleased_album_are_not_found(sim: Sim) -> None:
    yt_headers(sim)
    sim.state.set_availability("record", at=sim.state.now() + timedelta(days=1))
    response = await sim.client.get(
        f"{YT}/playlistItems",
        params={"part": "contentDetails", "playlistId": sim.album.ids["youtube"], "key": "yt-app"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["errors"][0]["reason"] == "playlistNotFound"


async def test_google_consent_gives_a_refresh_token_only_offline(sim: Sim) -> None:
    yt_headers(sim)
    sim.state.set_consent_mode("youtube", "auto_approve")
    answers = []
    for access_type in ("online", "offline"):
        authorize = await sim.client.get(
            "/google/oauth/auth",
            params={
                "client_id": "yt-app",
                "response_type": "code",
                "redirect_uri": REDIRECT,
                "scope": YT_SCOPE,
                "access_type": access_type,
            },
        )
        code = httpx.URL(authorize.headers["location"]).params["code"]
        token = await sim.client.post(
            "/google/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": "yt-app",
                "client_secret": "g-secret",
            },
        )
        answers.append("refresh_token" in token.json())
    assert answers == [False, True]


async def test_odesli_resolves_a_spotify_url_to_every_platform(sim: Sim) -> None:
    sim.album.extra_links["amazonMusic"] = "https://music.amazon.com/albums/B0TEST"
    url = f"https://open.spotify.com/album/{sim.album.ids['spotify']}"
    response = await sim.client.get("/odesli/v1-alpha.1/links", params={"url": url})
    links = response.json()["linksByPlatform"]
    assert links["deezer"]["url"] == f"https://www.deezer.com/album/{sim.album.ids['deezer']}"
    assert links["amazonMusic"]["url"] == "https://music.amazon.com/albums/B0TEST"
    assert {"spotify", "appleMusic", "tidal", "youtubeMusic", "soundcloud"} <= links.keys()


async def test_odesli_cannot_resolve_before_release(sim: Sim) -> None:
    response = await sim.client.get(
        "/odesli/v1-alpha.1/links",
        params={
            "platform": "deezer",
            "type": "album",
            "id": sim.album.ids["deezer"],
            "userCountry": "GB",
        },
    )
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "code": "could_not_resolve_entity"}


async def test_odesli_allows_ten_a_minute_without_a_key_and_more_with_one(sim: Sim) -> None:
    url = f"spotify:album:{sim.album.ids['spotify']}"
    keyless = [
        (await sim.client.get("/odesli/v1-alpha.1/links", params={"url": url})).status_code
        for _ in range(11)
    ]
    assert keyless == [200] * 10 + [429]
    sim.state.odesli_keys["k1"] = 60
    keyed = await sim.client.get("/odesli/v1-alpha.1/links", params={"url": url, "key": "k1"})
    assert keyed.status_code == 200
