"""Operator text and URLs as an attacker types them: refused with a 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, artist_body, make_link, make_release, release_body
from tests.builders import WorkspaceKey

BAD_CHARACTERS = [
    pytest.param("\r\nBcc: everyone@example.com", id="CRLF"),
    pytest.param("\n", id="LF"),
    pytest.param("\x00", id="NUL"),
    pytest.param("\x1b[31m", id="ESC"),
    pytest.param("\x85", id="C1-NEL"),
    pytest.param("\u202e", id="RLO-bidi-override"),
    pytest.param("\u2066", id="LRI-bidi-isolate"),
    pytest.param("\u200b", id="zero-width-space"),
    pytest.param("\ufeff", id="BOM"),
    pytest.param("\u2028", id="line-separator"),
    pytest.param("\U000e0041", id="tag-character"),
]


def _error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("bad", BAD_CHARACTERS)
async def test_an_artist_name_with_a_control_or_invisible_character_is_refused(
    api: Api, owner: WorkspaceKey, bad: str
) -> None:
    error = _error(await api.post(owner, "/artists", artist_body(f"Nova{bad}Reyes")))
    assert error["field"] == "name"
    assert "U+" in error["message"]
    assert (await api.get(owner, "/artists")).json()["items"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "Midnight\r\nCartography"),
        ("label_name", "Demo\u202eRecords"),
        ("tracks.0.title", "North\x00Star"),
    ],
)
async def test_release_texts_are_refused_with_the_failing_field(
    api: Api, owner: WorkspaceKey, field: str, value: str
) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    body = release_body([artist["id"]])
    if field == "tracks.0.title":
        body["tracks"][0]["title"] = value
    else:
        body[field] = value
    assert _error(await api.post(owner, "/releases", body))["field"] == field


async def test_a_service_id_with_a_line_break_is_refused(api: Api, owner: WorkspaceKey) -> None:
    body = artist_body(service_ids={"spotify": "abc\ndef"})
    assert _error(await api.post(owner, "/artists", body))["field"] == "service_ids.spotify"


async def test_ordinary_unicode_names_with_emoji_and_joiners_are_kept(
    api: Api, owner: WorkspaceKey
) -> None:
    # ZWJ builds the family emoji, ZWNJ is needed to spell Persian names correctly.
    name = "Björk & می\u200cخواهم 👨\u200d👩\u200d👧 — Ω"
    created = await api.post(owner, "/artists", artist_body(name))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name


async def test_a_renamed_artist_is_checked_like_a_new_one(api: Api, owner: WorkspaceKey) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    error = _error(await api.patch(owner, f"/artists/{artist['id']}", {"name": "x\u202ey"}))
    assert error["field"] == "name"
    assert (await api.get(owner, f"/artists/{artist['id']}")).json()["name"] == "Nova Reyes"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("javascript:alert(document.cookie)", "javascript:"),
        ("data:image/svg+xml;base64,PHN2Zz4=", "data:"),
        ("//evil.example/a.jpg", "relative"),
        ("http://cdn.example.com/a.jpg", "https"),
        ("https://bank.example@evil.example/a.jpg", "user name"),
        ("https://cdn.example.com/a b.jpg", "spaces"),
        ("https://cdn.example.com\\@evil.example/", "backslash"),
        ("https://cdn.example.com/\u202egpj.exe", "U+202E"),
        ("https://cdn.example.com:99999/a.jpg", "port"),
        ("https://" + "a" * 2100 + ".example/", "2048"),
    ],
)
async def test_an_artwork_url_breaking_a_rule_is_refused_with_the_reason(
    api: Api, owner: WorkspaceKey, url: str, why: str
) -> None:
    artist = (await api.post(owner, "/artists", artist_body())).json()
    error = _error(
        await api.post(owner, "/releases", release_body([artist["id"]], artwork_url=url))
    )
    assert error["field"] == "artwork_url"
    assert why in error["message"]


async def test_an_artwork_url_host_is_stored_in_its_ascii_form(
    api: Api, owner: WorkspaceKey
) -> None:
    # A look-alike Unicode host shows as xn--... to anyone reading the stored URL.
    release = await make_release(api, owner, artwork_url="https://bücher.example/Ärt.jpg")
    assert release["artwork_url"] == "https://xn--bcher-kva.example/%C3%84rt.jpg"


async def test_a_loopback_http_artwork_url_is_accepted_for_development(
    api: Api, owner: WorkspaceKey
) -> None:
    release = await make_release(api, owner, artwork_url="http://127.0.0.1:8000/static/a.jpg")
    assert release["artwork_url"] == "http://127.0.0.1:8000/static/a.jpg"


async def test_a_destination_url_with_a_bidi_override_is_refused(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner, destinations=[])
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {"service": "spotify", "url": "https://open.spotify.com/album/4aawyAB9\u202evmqN3uQ7"},
    )
    error = _error(response)
    assert error["field"] == "url"
    assert "U+202E" in error["message"]


async def test_a_country_destination_url_is_checked_like_the_main_one(
    api: Api, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner, destinations=[])
    response = await api.post(
        owner,
        f"/links/{link['id']}/destinations",
        {
            "service": "spotify",
            "url": "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy",
            "country_urls": {"GB": "https://open.spotify.com/album/\u200b4aawyAB9"},
        },
    )
    assert _error(response)["field"] == "country_urls.GB"


async def _campaign(api: Api, owner: WorkspaceKey, **settings: Any) -> Any:
    link = await make_link(api, owner)
    return await api.put(owner, f"/links/{link['id']}/campaign", settings)


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://store.example/x", "https://u:p@store.example/"]
)
async def test_a_link_only_pre_save_url_follows_the_same_url_rules(
    api: Api, owner: WorkspaceKey, url: str
) -> None:
    response = await _campaign(api, owner, link_only_urls={"bandcamp": url})
    assert _error(response)["field"] == "link_only_urls.bandcamp"


async def test_a_new_playlist_name_with_a_control_character_is_refused(
    api: Api, owner: WorkspaceKey
) -> None:
    response = await _campaign(
        api,
        owner,
        playlist_action={"mode": "add_to_new_playlist", "service": "spotify", "name": "a\x07b"},
    )
    assert _error(response)["field"] == "playlist_action.name"


async def test_a_consent_text_keeps_its_line_breaks_but_not_a_lone_carriage_return(
    api: Api, owner: WorkspaceKey
) -> None:
    kept = await _campaign(
        api, owner, consent_texts={"email": "Email me about this release.\r\nUnsubscribe any time."}
    )
    assert kept.status_code == 200, kept.text
    texts = [t["text"] for t in kept.json()["consent_texts"] if t["kind"] == "email"]
    assert texts == ["Email me about this release.\nUnsubscribe any time."]
    link = (await api.get(owner, "/links")).json()["items"][0]
    refused = await api.put(
        owner,
        f"/links/{link['id']}/campaign",
        {"consent_texts": {"email": "Email me about\rthis release, please."}},
    )
    assert _error(refused)["field"] == "consent_texts.email"
