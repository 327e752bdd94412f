"""Connector configuration: one pydantic model per service, nested in the app ``Settings``.

The lead nests :class:`ConnectorsSettings` as ``Settings.connectors``; with env prefix
``LAUNCHLINK_`` and ``__`` as the nested delimiter every field is reachable from the
environment, e.g. ``LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_ID``. A service whose credentials
are empty is simply unavailable (the registry says why). Base URLs are configurable so the
same code talks to the real services or to the simulator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator


class _ServiceSettings(BaseModel):
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per-request timeout.")
    max_retries: int = Field(
        default=2, ge=0, le=5, description="Retries of transient failures (idempotent calls only)."
    )


class SpotifySettings(_ServiceSettings):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    accounts_url: str = "https://accounts.spotify.com"
    api_url: str = "https://api.spotify.com/v1"
    quota_mode: Literal["development", "extended"] = Field(
        default="development",
        description="development: 5 allow-listed users, /me/library only; extended: approved app.",
    )
    library_endpoints: Literal["library", "legacy"] = Field(
        default="library",
        description="'legacy' uses PUT /me/albums, /me/tracks and /playlists/{id}/followers "
        "(extended-quota apps only; removed in development mode). Artist follows use "
        "PUT /me/following on extended-quota apps either way.",
    )
    default_market: str = Field(default="US", min_length=2, max_length=2)

    @model_validator(mode="after")
    def _legacy_needs_extended(self) -> Self:
        if self.library_endpoints == "legacy" and self.quota_mode != "extended":
            raise ValueError("legacy library endpoints exist only for extended-quota apps")
        return self


class AppleMusicSettings(_ServiceSettings):
    team_id: str | None = None
    key_id: str | None = None
    private_key_pem: SecretStr | None = Field(default=None, description="The .p8 key (PEM).")
    private_key_path: Path | None = Field(default=None, description="Or a path to the .p8 file.")
    api_url: str = "https://api.music.apple.com/v1"
    default_storefront: str = Field(default="us", min_length=2, max_length=2)
    developer_token_ttl_seconds: int = Field(default=15_000_000, gt=60, le=15_777_000)
    origins: list[str] = Field(
        default_factory=list, description="Optional 'origin' claim restricting web use."
    )


class DeezerSettings(_ServiceSettings):
    app_id: str | None = None
    secret: SecretStr | None = None
    api_url: str = "https://api.deezer.com"
    connect_url: str = "https://connect.deezer.com"


class TidalSettings(_ServiceSettings):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    login_url: str = "https://login.tidal.com"
    auth_url: str = "https://auth.tidal.com/v1"
    api_url: str = "https://openapi.tidal.com/v2"
    default_country: str = Field(default="US", min_length=2, max_length=2)


class SoundCloudSettings(_ServiceSettings):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    secure_url: str = "https://secure.soundcloud.com"
    api_url: str = "https://api.soundcloud.com"
    redirect_uri: str | None = Field(
        default=None,
        description="The registered callback; SoundCloud wants it on refresh too.",
    )


class YouTubeSettings(_ServiceSettings):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    oauth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    api_url: str = "https://www.googleapis.com/youtube/v3"
    api_key: SecretStr | None = Field(
        default=None,
        description="API key for catalogue reads (lookup_url, search). Pre-saves find the "
        "release from its YouTube link with it: without one, YouTube is not offered.",
    )
    daily_quota_units: int = Field(
        default=10_000, gt=0, description="The project's daily quota; calls stop before it."
    )
    daily_search_calls: int = Field(
        default=100, gt=0, description="search.list has its own daily bucket of calls."
    )


class OdesliSettings(_ServiceSettings):
    api_key: SecretStr | None = Field(default=None, description="Optional; 10/min without.")
    url: str = "https://api.song.link/v1-alpha.1"
    enabled: bool = True


class ConnectorsSettings(BaseModel):
    spotify: SpotifySettings = Field(default_factory=SpotifySettings)
    apple_music: AppleMusicSettings = Field(default_factory=AppleMusicSettings)
    deezer: DeezerSettings = Field(default_factory=DeezerSettings)
    tidal: TidalSettings = Field(default_factory=TidalSettings)
    soundcloud: SoundCloudSettings = Field(default_factory=SoundCloudSettings)
    youtube: YouTubeSettings = Field(default_factory=YouTubeSettings)
    odesli: OdesliSettings = Field(default_factory=OdesliSettings)
