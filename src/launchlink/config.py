"""One settings class for the whole application (env prefix ``LAUNCHLINK_``).

Defaults are those of the embedded mode: one process, a SQLite file under ``var/``,
no other service. Scale-out is configuration only (``LAUNCHLINK_DATABASE_URL`` pointing
at PostgreSQL, ``LAUNCHLINK_REDIS_URL`` for shared state). Every field is documented in
``docs/configuration.md``.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from launchlink.connectors.settings import ConnectorsSettings
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.mail.settings import MailSettings

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAUNCHLINK_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    var_dir: Path = Field(
        default=DEFAULT_VAR_DIR,
        description="Where the embedded mode keeps its SQLite file and generated secrets.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL. Empty: sqlite+aiosqlite:///<var_dir>/launchlink.sqlite3.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="PostgreSQL connections kept open per process (each web and worker process "
        "has its own pool: keep processes x (size + overflow) under max_connections).",
    )
    database_pool_overflow: int = Field(
        default=10, ge=0, le=200, description="Extra PostgreSQL connections a process may open."
    )
    redis_url: str | None = Field(
        default=None, description="Redis for shared state at scale (rate limits, caches)."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs cookies and links. Empty: generated once into <var_dir>/secret_key.",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys for fans' tokens at rest; the first encrypts, "
        "all decrypt (prepend a new key to rotate). Empty: generated once into "
        "<var_dir>/encryption_keys.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where fans reach this instance; canonical URLs and OAuth callbacks use it.",
    )
    environment: Literal["development", "production", "test"] = Field(
        default="development",
        description="test: background workers do not start inside the app (tests drive them).",
    )
    trusted_country_header: str | None = Field(
        default=None,
        description="A proxy/CDN header carrying the visitor's country (e.g. CF-IPCountry). "
        "Only set it when a proxy you control always overwrites it.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated addresses/networks of your reverse proxies; when set, the "
        "country header and X-Forwarded-For are believed only on requests from them.",
    )
    geoip: Literal["bundled", "off"] = Field(
        default="bundled", description="Country from the bundled geo-IP database, or none."
    )
    territory_timezones_file: Path | None = Field(
        default=None,
        description="CSV (country,time_zone,note) overriding the bundled territory time zones.",
    )
    page_cache_size: int = Field(
        default=4096, ge=16, description="Rendered pages kept per process."
    )
    cache_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each process checks for changed links."
    )
    simulator_embedded: bool = Field(
        default=False,
        description="Mount the platform simulator at /_sim and point every connector at it "
        "(the demo uses this; never in production).",
    )
    connectors: ConnectorsSettings = Field(
        default_factory=ConnectorsSettings,
        description="Credentials and base URLs per streaming service "
        "(LAUNCHLINK_CONNECTORS__SPOTIFY__CLIENT_ID...). With simulator_embedded and no "
        "credentials at all, every service points at the embedded simulator.",
    )
    mail: MailSettings = Field(
        default_factory=MailSettings,
        description="SMTP for fans' emails (LAUNCHLINK_MAIL__HOST...). Empty host: not sent.",
    )

    embedded_worker: bool = Field(
        default=True,
        description="Run the fulfilment worker inside `launchlink serve` (embedded mode). "
        "Turn off when `launchlink worker` processes do the work (scale-out).",
    )
    fulfilment: FulfilmentSettings = Field(
        default_factory=FulfilmentSettings,
        description="Release-day fulfilment: rate ceilings, leases, batches, retries "
        "(LAUNCHLINK_FULFILMENT__LEASE_SECONDS...).",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'launchlink.sqlite3').as_posix()}"

    @cached_property
    def simulator_url(self) -> str:
        """Where the embedded simulator is served (``/_sim`` under the public URL)."""
        return self.public_url + "/_sim"

    @property
    def connectors_use_simulator(self) -> bool:
        """True when the embedded simulator stands in for every service."""
        return self.simulator_embedded and not _any_credentials(self.connectors)

    def resolved_connectors(
        self, *, apple_private_key_pem: str | None = None
    ) -> ConnectorsSettings:
        """The configured connectors, or the simulator's demo apps (see ``simulator_embedded``).

        With the simulator, Apple Music signs with the demo MusicKit key unless another is
        given: every process (the web app and its worker) must have the same configuration,
        or a service offered on the page cannot be fulfilled.
        """
        if not self.connectors_use_simulator:
            return self.connectors
        if apple_private_key_pem is None:
            from launchlink.simulator.demo import demo_apple_private_key_pem

            apple_private_key_pem = demo_apple_private_key_pem()
        return ConnectorsSettings.for_simulator(
            self.simulator_url, apple_private_key_pem=apple_private_key_pem
        )

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The configured secret, or the one generated on first run and kept in var/."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return self._generated_once("secret_key", lambda: secrets.token_urlsafe(48))

    def resolved_encryption_keys(self) -> list[str]:
        """Fernet keys, newest first: configured, or generated on first run into var/."""
        if self.encryption_keys is not None:
            raw = self.encryption_keys.get_secret_value()
        else:
            raw = self._generated_once(
                "encryption_keys", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()
            )
        keys = [key.strip() for key in raw.split(",") if key.strip()]
        if not keys:
            raise ValueError("LAUNCHLINK_ENCRYPTION_KEYS is set but holds no key")
        return keys

    def _generated_once(self, name: str, make: Callable[[], str]) -> str:
        key_file = self.var_dir / name
        if key_file.exists():
            return key_file.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        value = make()
        # Exclusive create: two processes starting together must agree on one value.
        try:
            with key_file.open("x") as handle:
                handle.write(value)
            key_file.chmod(0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        return value


def _any_credentials(connectors: ConnectorsSettings) -> bool:
    return any(
        (
            connectors.spotify.client_id,
            connectors.apple_music.team_id,
            connectors.deezer.app_id,
            connectors.tidal.client_id,
            connectors.soundcloud.client_id,
            connectors.youtube.client_id,
        )
    )


def load_settings() -> Settings:
    return Settings()
