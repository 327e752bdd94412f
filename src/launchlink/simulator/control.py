"""``/_control``: JSON in, JSON out; a thin wrapper over :class:`SimulatorState`.

Endpoints (all bodies JSON; errors are ``400 {"error": "..."}``):

- ``POST /_control/reset`` → ``{"ok": true}``: back to the seed catalogue, nothing else.
- ``GET /_control/clock`` → ``{"now", "offset_seconds"}``;
  ``POST /_control/clock`` with ``{"set": "<ISO instant>"}`` or ``{"advance_seconds": n}``.
- ``GET /_control/apps``; ``POST /_control/apps`` with ``{"service", "client_id", ...}``
  creates or updates (fields: ``client_secret`` (null = public PKCE client),
  ``redirect_uris``, ``mode`` (development|extended), ``allow_list``, ``rate_limit``
  (``{"limit", "window_seconds"}`` or null), ``rotate_refresh_tokens``,
  ``forbidden_as_json``, ``daily_quota``, ``search_daily_quota``).
- ``GET /_control/users?service=``; ``POST /_control/users`` with ``{"service", "id",
  "display_name"?, "country"?, "email"?, "product"?}``;
  ``POST /_control/users/revoke`` with ``{"service", "id"}`` → ``{"revoked": n}``.
- ``POST /_control/tokens`` with ``{"service", "client_id", "user", "scopes": [...],
  "ttl_seconds"?}`` → ``{"access_token", "refresh_token", "expires_in"}`` (skips consent).
- ``POST /_control/consent`` with ``{"service", "mode": manual|auto_approve|deny,
  "next_user"?}``.
- ``GET /_control/catalog/albums``; ``POST /_control/catalog/artists`` ``{"key","name"}``;
  ``POST /_control/catalog/albums`` (see :func:`album_from_json`);
  ``POST /_control/catalog/availability`` with ``{"album": key, "country"?: "GB",
  "available_from": ISO | null}``.
- ``GET /_control/faults``; ``POST /_control/faults`` with ``{"service", <knobs>}``
  (``latency_ms``, ``error_rate``, ``error_status``, ``outages`` [{start,end}],
  ``burst_429``, ``retry_after_mode`` normal|missing|huge, ``retry_after_seconds``);
  ``DELETE /_control/faults?service=`` clears.
- ``GET /_control/ledger?service=&user=&action=&item=&outcome=`` →
  ``{"entries": [...], "count": n}``.
- ``GET /_control/library?service=&user=`` → the user's shelves.
- ``POST /_control/options`` with ``{"normalize_upc_leading_zeros": bool}``.
- ``POST /_control/apple/keys`` with ``{"kid", "team_id", "public_key_pem"}``;
  ``POST /_control/apple/user-tokens`` with ``{"user", "country"?}`` →
  ``{"music_user_token"}``; ``POST /_control/apple/user-tokens/revoke`` ``{"token"}``.
- ``POST /_control/odesli/keys`` with ``{"key", "per_minute"?}``.
- ``GET /_control/contract-violations`` (OpenAPI validation layer findings).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from launchlink.simulator.catalog import Album, Artist, Track
from launchlink.simulator.http import json_body, json_response, state_of
from launchlink.simulator.state import ODESLI_KEYED_PER_MINUTE, SimulatorState


def album_from_json(state: SimulatorState, data: dict[str, Any]) -> Album:
    """Build an :class:`Album` from control JSON: ``key``, ``title``, ``artist_keys``,
    ``upc``, ``release_date``, ``available_from``, ``tracks`` [{``title``, ``isrc``,
    ``duration_ms``, ``key``?, ``artist_keys``?}], and optionally ``album_type``,
    ``label``, ``availability`` {country: ISO|null}, ``services``, ``apple_preorder``,
    ``extra_links``, ``ids``."""
    artist_keys = tuple(data["artist_keys"])
    tracks = [
        Track(
            key=t.get("key", f"{data['key']}-{i}"),
            title=t["title"],
            isrc=t["isrc"],
            duration_ms=int(t["duration_ms"]),
            track_number=int(t.get("track_number", i)),
            artist_keys=tuple(t.get("artist_keys", artist_keys)),
            explicit=bool(t.get("explicit", False)),
            ids=dict(t.get("ids", {})),
        )
        for i, t in enumerate(data["tracks"], start=1)
    ]
    album = Album(
        key=data["key"],
        title=data["title"],
        artist_keys=artist_keys,
        upc=data["upc"],
        release_date=date.fromisoformat(data["release_date"]),
        available_from=datetime.fromisoformat(data["available_from"]),
        tracks=tracks,
        album_type=data.get("album_type", "album"),
        label=data.get("label", "Independent"),
        availability={
            c: (datetime.fromisoformat(v) if v else None)
            for c, v in data.get("availability", {}).items()
        },
        apple_preorder=bool(data.get("apple_preorder", False)),
        extra_links=dict(data.get("extra_links", {})),
        ids=dict(data.get("ids", {})),
    )
    if "services" in data:
        album.services = frozenset(data["services"])
    return album


def album_to_json(album: Album) -> dict[str, Any]:
    return {
        "key": album.key,
        "title": album.title,
        "artist_keys": list(album.artist_keys),
        "upc": album.upc,
        "release_date": album.release_date.isoformat(),
        "available_from": album.available_from.isoformat(),
        "availability": {
            c: (at.isoformat() if at else None) for c, at in album.availability.items()
        },
        "album_type": album.album_type,
        "services": sorted(album.services),
        "apple_preorder": album.apple_preorder,
        "ids": album.ids,
        "extra_links": album.extra_links,
        "tracks": [
            {
                "key": t.key,
                "title": t.title,
                "isrc": t.isrc,
                "duration_ms": t.duration_ms,
                "ids": t.ids,
            }
            for t in album.tracks
        ],
    }


async def _body(request: Request) -> dict[str, Any]:
    data = await json_body(request)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object body")
    return data


async def reset(request: Request) -> Response:
    state_of(request).reset()
    return json_response({"ok": True})


async def clock(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        data = await _body(request)
        if "set" in data:
            state.set_clock(datetime.fromisoformat(data["set"]))
        elif "advance_seconds" in data:
            state.advance_clock(float(data["advance_seconds"]))
        else:
            raise ValueError("give 'set' or 'advance_seconds'")
    return json_response(
        {"now": state.now().isoformat(), "offset_seconds": state.clock_offset.total_seconds()}
    )


async def apps(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        data = await _body(request)
        service, client_id = data.pop("service"), data.pop("client_id")
        return json_response(state.upsert_app(service, client_id, **data).to_json())
    return json_response({"apps": [app.to_json() for app in state.apps.values()]})


async def users(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        data = await _body(request)
        user = state.create_user(
            data["service"],
            data["id"],
            display_name=data.get("display_name"),
            country=data.get("country", "US"),
            email=data.get("email"),
            product=data.get("product", "premium"),
        )
        return json_response(user.to_json())
    service = request.query_params.get("service")
    found = [u.to_json() for u in state.users.values() if service in (None, u.service)]
    return json_response({"users": found})


async def revoke_user(request: Request) -> Response:
    data = await _body(request)
    return json_response({"revoked": state_of(request).revoke_user(data["service"], data["id"])})


async def tokens(request: Request) -> Response:
    data = await _body(request)
    access, refresh = state_of(request).mint_user_token(
        data["service"],
        data["client_id"],
        data["user"],
        data.get("scopes", []),
        ttl_seconds=data.get("ttl_seconds", 3600),
    )
    return json_response(
        {
            "access_token": access.token,
            "refresh_token": refresh.token if refresh else None,
            "expires_in": data.get("ttl_seconds", 3600),
        }
    )


async def consent(request: Request) -> Response:
    data = await _body(request)
    state = state_of(request)
    state.set_consent_mode(data["service"], data["mode"], next_user=data.get("next_user"))
    settings = state.consent(data["service"])
    return json_response({"mode": settings.mode, "next_user": settings.next_user})


async def catalog_albums(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        album = state.upsert_album(album_from_json(state, await _body(request)))
        return json_response(album_to_json(album))
    return json_response({"albums": [album_to_json(a) for a in state.catalog.albums.values()]})


async def catalog_artists(request: Request) -> Response:
    data = await _body(request)
    artist = state_of(request).catalog.add_artist(
        Artist(key=data["key"], name=data["name"], ids=dict(data.get("ids", {})))
    )
    return json_response({"key": artist.key, "name": artist.name, "ids": artist.ids})


async def availability(request: Request) -> Response:
    data = await _body(request)
    at = data.get("available_from")
    album = state_of(request).set_availability(
        data["album"],
        country=data.get("country"),
        at=datetime.fromisoformat(at) if at else None,
    )
    return json_response(album_to_json(album))


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        data = await _body(request)
        service = data.pop("service")
        return json_response({service: state.set_faults(service, **data).to_json()})
    if request.method == "DELETE":
        state.clear_faults(request.query_params.get("service"))
    return json_response({name: rt.faults.to_json() for name, rt in state.runtime.items()})


async def ledger(request: Request) -> Response:
    q = request.query_params
    entries = state_of(request).ledger.query(
        service=q.get("service"),
        user=q.get("user"),
        action=q.get("action"),
        item=q.get("item"),
        outcome=q.get("outcome"),
    )
    return json_response({"entries": [e.to_json() for e in entries], "count": len(entries)})


async def library(request: Request) -> Response:
    q = request.query_params
    shelves = state_of(request).library(q["service"], q["user"])
    return json_response({action: sorted(items) for action, items in shelves.items() if items})


async def options(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        data = await _body(request)
        if "normalize_upc_leading_zeros" in data:
            state.options.normalize_upc_leading_zeros = bool(data["normalize_upc_leading_zeros"])
    return json_response(state.options.to_json())


async def apple_keys(request: Request) -> Response:
    data = await _body(request)
    key = state_of(request).register_apple_key(data["kid"], data["team_id"], data["public_key_pem"])
    return json_response({"kid": key.kid, "team_id": key.team_id})


async def apple_user_tokens(request: Request) -> Response:
    data = await _body(request)
    token = state_of(request).issue_music_user_token(
        data["user"], country=data.get("country", "US")
    )
    return json_response({"music_user_token": token})


async def apple_revoke_token(request: Request) -> Response:
    data = await _body(request)
    state_of(request).revoke_music_user_token(data["token"])
    return json_response({"ok": True})


async def odesli_keys(request: Request) -> Response:
    data = await _body(request)
    per_minute = int(data.get("per_minute", ODESLI_KEYED_PER_MINUTE))
    state_of(request).odesli_keys[data["key"]] = per_minute
    return json_response({"key": data["key"], "per_minute": per_minute})


async def contract_violations(request: Request) -> Response:
    return json_response({"violations": state_of(request).contract_violations})


def _guarded(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except (KeyError, ValueError, TypeError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)

    return endpoint


def routes() -> list[Route]:
    table: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/reset", reset, ["POST"]),
        ("/clock", clock, ["GET", "POST"]),
        ("/apps", apps, ["GET", "POST"]),
        ("/users", users, ["GET", "POST"]),
        ("/users/revoke", revoke_user, ["POST"]),
        ("/tokens", tokens, ["POST"]),
        ("/consent", consent, ["POST"]),
        ("/catalog/albums", catalog_albums, ["GET", "POST"]),
        ("/catalog/artists", catalog_artists, ["POST"]),
        ("/catalog/availability", availability, ["POST"]),
        ("/faults", faults, ["GET", "POST", "DELETE"]),
        ("/ledger", ledger, ["GET"]),
        ("/library", library, ["GET"]),
        ("/options", options, ["GET", "POST"]),
        ("/apple/keys", apple_keys, ["POST"]),
        ("/apple/user-tokens", apple_user_tokens, ["POST"]),
        ("/apple/user-tokens/revoke", apple_revoke_token, ["POST"]),
        ("/odesli/keys", odesli_keys, ["POST"]),
        ("/contract-violations", contract_violations, ["GET"]),
    ]
    return [Route(path, _guarded(handler), methods=methods) for path, handler, methods in table]
