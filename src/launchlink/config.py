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
from sqlalchemy.engine import make_url

from launchlink.analytics.settings import AnalyticsSettings
from launchlink.connectors.settings import ConnectorsSettings
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.kit.files import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    create_once,
    ensure_private_dir,
    ensure_private_file,
    tighten,
)
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels.settings import MessagingSettings, parse_smtp_url
from launchlink.ops.settings import OpsSettings
from launchlink.outbox.settings import OutboxSettings

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
        description="development (default): emails without SMTP go to the dev outbox at "
        "/_dev/mail; production: they are dropped (logged by subject); test: background "
        "workers do not start inside the app (tests drive them).",
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
    max_request_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest request body accepted (API and forms alike); counted while it "
        "streams in, so a chunked upload cannot grow memory past it.",
    )
    dns_resolver: str | None = Field(
        default=None,
        description="DNS server (IP address) asked for custom domains' TXT records. Empty: "
        "the nameservers of /etc/resolv.conf.",
    )
    page_cache_size: int = Field(
        default=4096, ge=16, description="Rendered pages kept per process."
    )
    cache_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often each process checks for changed links."
    )
    webhooks_allow_private_targets: bool = Field(
        default=False,
        description="Let webhooks reach private, loopback and link-local addresses (a "
        "self-hosted receiver on your own network). Off: a webhook host is resolved at "
        "delivery and refused when any of its addresses is not public. Cloud metadata "
        "addresses stay refused either way.",
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
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:password@host:587 (STARTTLS; ?security=none for a local relay) "
        "or smtps://host:465; when set it replaces mail.host, port, username, password and "
        "security.",
    )
    messaging: MessagingSettings = Field(
        default_factory=MessagingSettings,
        description="Fan messaging: DKIM key, SMS provider, rate limits, retries, automatic "
        "pause thresholds (LAUNCHLINK_MESSAGING__DKIM_DOMAIN...).",
    )

    open_sign_up: bool = Field(
        default=False,
        description="Let anyone create an account (and their own workspace) at "
        "/dashboard/signup. Off: the first account of a fresh instance is created there, "
        "every later one by invitation.",
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
    analytics: AnalyticsSettings = Field(
        default_factory=AnalyticsSettings,
        description="Visit analytics: flush interval, buffer bound, raw-event retention "
        "(LAUNCHLINK_ANALYTICS__RETENTION_DAYS...).",
    )
    outbox: OutboxSettings = Field(
        default_factory=OutboxSettings,
        description="Delivery of domain events to subscribers: polling, leases, retries, "
        "retention (LAUNCHLINK_OUTBOX__MAX_ATTEMPTS...).",
    )

    ops: OpsSettings = Field(
        default_factory=OpsSettings,
        description="Logs, metrics, readiness and shutdown (LAUNCHLINK_OPS__LOG_FORMAT...).",
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
    def resolved_mail(self) -> MailSettings:
        """The SMTP settings: ``smtp_url`` when set, over ``mail``."""
        if self.smtp_url is None:
            return self.mail
        return parse_smtp_url(self.smtp_url.get_secret_value(), base=self.mail)

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
        from launchlink.simulator.profile import simulator_connectors

        return simulator_connectors(self.simulator_url, apple_private_key_pem=apple_private_key_pem)

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

    @property
    def dev_outbox_dir(self) -> Path | None:
        """Where mail goes without SMTP in development (see launchlink.mail.outbox)."""
        return self.var_dir / "outbox" if self.environment == "development" else None

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None (PostgreSQL, or an in-memory database)."""
        if not self.is_sqlite:
            return None
        path = make_url(self.resolved_database_url).database
        return Path(path) if path and path != ":memory:" else None

    def prepare_private_storage(self) -> None:
        """Make ``var/`` (when present) and the SQLite files readable by their owner only.

        The database file is created 0600 before SQLite opens it, because SQLite gives its
        -wal and -shm files the database file's permissions.
        """
        tighten(self.var_dir, PRIVATE_DIR)
        database = self.sqlite_path
        if database is None:
            return
        if database.parent == self.var_dir:
            ensure_private_dir(self.var_dir)
        if database.parent.is_dir():
            ensure_private_file(database)
            for suffix in ("-wal", "-shm", "-journal"):
                tighten(database.with_name(database.name + suffix), PRIVATE_FILE)

    def _generated_once(self, name: str, make: Callable[[], str]) -> str:
        key_file = self.var_dir / name
        # Written whole under a temporary name, then linked into place: a process starting
        # at the same moment sees no file or the whole file, and every process ends up
        # with the first value linked.
        if not key_file.exists():
            create_once(key_file, make())
        tighten(key_file, PRIVATE_FILE)
        value = key_file.read_text(encoding="utf-8").strip()
        if not value:
            raise ValueError(
                f"{key_file} is empty (left by an interrupted first start?); delete it to "
                "generate a new one, or restore it from a backup"
            )
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
    """The process's settings (from the environment), with its private storage prepared."""
    settings = Settings()
    settings.prepare_private_storage()
    return settings
