"""Odesli (song.link) ``/links``: resolve a URL/URI or ``platform``+``type``+``id`` from the
shared catalogue into ``linksByPlatform`` (including the link-only services an album
lists in ``extra_links``, keyed by Odesli platform name, e.g. ``amazonMusic``).

Only released entities resolve (else ``400 could_not_resolve_entity``). Rate limits:
10 requests/minute without a key, 60 (or what ``/_control/odesli/keys`` set) with a
registered key; an unregistered key is ``401`` [UNCERTAIN]. Over the limit is ``429``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import (
    Album,
    Track,
    service_album_url,
    service_track_url,
)
from launchlink.simulator.faults import RateLimit
from launchlink.simulator.gateway import Access, Dialect, ServiceApi
from launchlink.simulator.http import json_response
from launchlink.simulator.state import ODESLI_KEYLESS_PER_MINUTE, SimulatorState

SERVICE = "odesli"
PROVIDERS = {
    "spotify": "SPOTIFY",
    "apple": "ITUNES",
    "deezer": "DEEZER",
    "tidal": "TIDAL",
    "youtube": "YOUTUBE",
    "soundcloud": "SOUNDCLOUD",
}
API_PROVIDER = {
    "spotify": "spotify",
    "apple": "itunes",
    "deezer": "deezer",
    "tidal": "tidal",
    "youtube": "youtube",
    "soundcloud": "soundcloud",
}
PLATFORM_TO_SERVICE = {
    "spotify": "spotify",
    "itunes": "apple",
    "appleMusic": "apple",
    "deezer": "deezer",
    "tidal": "tidal",
    "youtube": "youtube",
    "youtubeMusic": "youtube",
    "soundcloud": "soundcloud",
}


def odesli_error(status: int, code: str) -> Response:
    return json_response({"statusCode": status, "code": code}, status)


def fault_response(status: int, message: str, retry_after: int | None) -> Response:
    return odesli_error(status, "too_many_requests" if status == 429 else "internal_error")


Entity = tuple[str, Album, Track | None]  # (service, album, track or None for the album)


def _parse_url(state: SimulatorState, raw: str) -> Entity | None:
    catalog = state.catalog
    url = unquote(raw).strip()
    match = re.match(r"^spotify:(album|track):(\w+)$", url)
    if match:
        return _by_id(state, "spotify", match.group(1), match.group(2))
    parts = urlsplit(url)
    host, path, query = parts.netloc.lower(), parts.path.rstrip("/"), parse_qs(parts.query)
    segments = [s for s in path.split("/") if s]
    if host == "open.spotify.com" and len(segments) >= 2:
        return _by_id(state, "spotify", segments[-2], segments[-1])
    if host in ("music.apple.com", "itunes.apple.com") and segments:
        if "i" in query:
            return _by_id(state, "apple", "track", query["i"][0])
        return _by_id(state, "apple", "album", segments[-1])
    if host.endswith("deezer.com") and len(segments) >= 2:
        return _by_id(state, "deezer", segments[-2], segments[-1])
    if host.endswith("tidal.com") and len(segments) >= 2:
        return _by_id(state, "tidal", segments[-2], segments[-1])
    if host.endswith("youtube.com") or host == "youtu.be":
        if "list" in query:
            return _by_id(state, "youtube", "album", query["list"][0])
        video = query.get("v", [segments[-1] if host == "youtu.be" and segments else ""])[0]
        return _by_id(state, "youtube", "track", video)
    for album in catalog.albums.values():
        if url.rstrip("/") in (v.rstrip("/") for v in album.extra_links.values()):
            return ("extra", album, None)
        if host == "soundcloud.com" and SERVICE_SOUNDCLOUD in album.services:
            if url.rstrip("/") == service_album_url(catalog, album, SERVICE_SOUNDCLOUD):
                return (SERVICE_SOUNDCLOUD, album, None)
            for track in album.tracks:
                if url.rstrip("/") == service_track_url(catalog, track, album, SERVICE_SOUNDCLOUD):
                    return (SERVICE_SOUNDCLOUD, album, track)
    return None


SERVICE_SOUNDCLOUD = "soundcloud"


def _by_id(state: SimulatorState, service: str, kind: str, item_id: str) -> Entity | None:
    if kind in ("album", "playlist"):
        album = state.catalog.album_by_id(service, item_id)
        return (service, album, None) if album else None
    if kind in ("track", "song", "watch"):
        found = state.catalog.track_by_id(service, item_id)
        return (service, found[1], found[0]) if found else None
    return None


def _links(
    state: SimulatorState, album: Album, track: Track | None, country: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    catalog = state.catalog
    entities: dict[str, Any] = {}
    links: dict[str, Any] = {}
    kind = "SONG" if track else "ALBUM"
    for service in sorted(album.services):
        item_id = (track or album).ids[service]
        provider_kind = "VIDEO" if service == "youtube" and track else kind
        unique = f"{PROVIDERS[service]}_{provider_kind}::{item_id}"
        url = (
            service_track_url(catalog, track, album, service)
            if track
            else service_album_url(catalog, album, service)
        )
        if service == "apple":
            url = url.replace("/us/", f"/{country.lower()}/")
        platforms = {
            "apple": ["appleMusic", "itunes"],
            "youtube": ["youtube", "youtubeMusic"],
        }.get(service, [service])
        entities[unique] = {
            "id": item_id,
            "type": "song" if track else "album",
            "title": track.title if track else album.title,
            "artistName": catalog.artist_names(album.artist_keys),
            "apiProvider": API_PROVIDER[service],
            "platforms": platforms,
        }
        for platform in platforms:
            link_url = url
            if platform == "youtube":
                link_url = url.replace("music.youtube.com", "www.youtube.com")
            links[platform] = {"url": link_url, "entityUniqueId": unique}
    if track is None:
        for platform, url in album.extra_links.items():
            links[platform] = {
                "url": url,
                "entityUniqueId": f"{platform.upper()}_ALBUM::{album.key}",
            }
    return entities, links


def _authenticate(request: Request, state: SimulatorState) -> Access | Response:
    """An optional API key: a registered one has its own rate, none the keyless one."""
    key = request.query_params.get("key")
    if key is None:
        return Access("keyless", RateLimit(ODESLI_KEYLESS_PER_MINUTE, 60.0))
    per_minute = state.odesli_keys.get(key)
    if per_minute is None:
        return odesli_error(401, "invalid_api_key")
    return Access(f"key:{key}", RateLimit(per_minute, 60.0))


@dataclass(frozen=True, slots=True)
class Caller:
    state: SimulatorState
    request: Request

    @classmethod
    def admitted(cls, request: Request, state: SimulatorState, access: Access) -> Caller:
        return cls(state, request)


GATE = ServiceApi(
    Dialect(SERVICE, fault_response), authenticate=_authenticate, caller=Caller.admitted
)


async def links(caller: Caller) -> Response:
    state = caller.state
    params = caller.request.query_params
    country = params.get("userCountry", "US").upper()
    if "url" in params:
        entity = _parse_url(state, params["url"])
    elif {"platform", "type", "id"} <= params.keys():
        service = PLATFORM_TO_SERVICE.get(params["platform"])
        entity = _by_id(state, service, params["type"], params["id"]) if service else None
    else:
        return odesli_error(400, "missing_parameters")
    if entity is None:
        return odesli_error(400, "could_not_resolve_entity")
    service, album, track = entity
    if not album.is_available(country, state.now()):
        return odesli_error(400, "could_not_resolve_entity")
    if track is None and len(album.tracks) == 1 and params.get("songIfSingle") == "true":
        track = album.tracks[0]
    entities, platform_links = _links(state, album, track, country)
    first_service = service if service in PROVIDERS else sorted(album.services)[0]
    origin = next(
        (u for u, e in entities.items() if e["apiProvider"] == API_PROVIDER[first_service]),
        next(iter(entities), ""),
    )
    body = {
        "entityUniqueId": origin,
        "userCountry": country,
        "pageUrl": f"https://song.link/{country.lower()}/{'s' if track else 'a'}/{album.key}",
        "entitiesByUniqueId": entities,
        "linksByPlatform": platform_links,
    }
    return json_response(body)


def api_routes() -> list[Route]:
    return [Route("/links", GATE(links), methods=["GET"])]
