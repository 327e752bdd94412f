"""Odesli (song.link) client: one more source of per-service links for smart links.

Not a fan-facing connector: it has no OAuth and no library. ``links`` takes a service URL
(or URI) or ``platform`` + ``type`` + ``id`` and answers ``{platform key: URL}`` from
``linksByPlatform``. The URL is sent to Odesli as a query parameter; it is never fetched
here. Odesli resolves only live releases; "could not resolve" (400/404) is ``None``.
Unknown platform keys are kept as given (Odesli keeps adding them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import httpx

from launchlink.connectors._json import as_dict, as_str
from launchlink.connectors.errors import (
    NotAllowed,
    PlatformError,
    RateLimited,
    Transient,
    Unavailable,
)
from launchlink.connectors.http import json_body, parse_retry_after, service_http
from launchlink.connectors.settings import OdesliSettings

SERVICE = "odesli"
NO_MATCH_CODES = {"could_not_resolve_entity", "could_not_fetch_entity_data"}


@dataclass(frozen=True)
class OdesliLinks:
    """What Odesli knows about one song or album."""

    entity_id: str | None
    page_url: str | None
    links: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    artist_name: str | None = None
    thumbnail_url: str | None = None


class OdesliClient:
    def __init__(
        self, settings: OdesliSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._url = settings.url.rstrip("/")
        self._key = settings.api_key.get_secret_value() if settings.api_key else None
        self.http = service_http(
            SERVICE, settings, base_urls=[self._url], transport=transport, secrets=[self._key]
        )

    @property
    def available(self) -> bool:
        return self.settings.enabled

    async def links(
        self,
        *,
        url: str | None = None,
        platform: str | None = None,
        type: Literal["song", "album"] | None = None,
        id: str | None = None,
        user_country: str | None = None,
        song_if_single: bool | None = None,
    ) -> OdesliLinks | None:
        """Links for one entity, or ``None`` when Odesli cannot resolve it."""
        if not self.settings.enabled:
            raise Unavailable("Odesli is disabled", service=SERVICE)
        if url is not None:
            params = {"url": url}
        elif platform and type and id:
            params = {"platform": platform, "type": type, "id": id}
        else:
            raise ValueError("give url, or platform + type + id")
        if user_country:
            params["userCountry"] = user_country.upper()
        if song_if_single is not None:
            params["songIfSingle"] = "true" if song_if_single else "false"
        if self._key:
            params["key"] = self._key
        response = await self.http.request(
            "GET", f"{self._url}/links", params=params, retry_safe=True, secrets=[self._key]
        )
        body = as_dict(json_body(response))
        status = response.status_code
        code = as_str(body.get("code")) or ""
        if status in {400, 404} and (code in NO_MATCH_CODES or status == 404):
            return None
        if status == 429:
            raise RateLimited(
                "Odesli rate limit",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                service=SERVICE,
                status=status,
            )
        if status in {401, 403}:
            raise NotAllowed(code or "Odesli refused the API key", service=SERVICE, status=status)
        if status >= 500:
            raise Transient(f"HTTP {status}", service=SERVICE, status=status)
        if not response.is_success:
            raise PlatformError(code or f"HTTP {status}", service=SERVICE, status=status)
        entity_id = as_str(body.get("entityUniqueId"))
        entity = as_dict(as_dict(body.get("entitiesByUniqueId")).get(entity_id or ""))
        links = {
            platform_key: link_url
            for platform_key, link in as_dict(body.get("linksByPlatform")).items()
            if (link_url := as_str(as_dict(link).get("url")))
        }
        return OdesliLinks(
            entity_id=entity_id,
            page_url=as_str(body.get("pageUrl")),
            links=links,
            title=as_str(entity.get("title")),
            artist_name=as_str(entity.get("artistName")),
            thumbnail_url=as_str(entity.get("thumbnailUrl")),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
