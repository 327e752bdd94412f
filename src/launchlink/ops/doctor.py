"""``launchlink doctor``: is this configuration fit to run, and if not, what to fix.

Each check returns findings: ``ok``, ``warn`` (works, but not as you probably want) or
``fail`` (something will not work). The command exits 1 when any check fails. Nothing is
written and nothing outside is called but the configured database, Redis and mail server.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.ops.health import CHECK_TIMEOUT_SECONDS, head_revisions
from launchlink.ops.repository import OpsRepository
from launchlink.outbox.dispatcher import describe_error

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    area: str
    level: Level
    message: str
    fix: str = ""


Check = Callable[[Settings], Awaitable[list[Finding]]]


class Process(StrEnum):
    """The long-running commands a configuration can be for (``doctor --for``)."""

    SERVE = "serve"
    WEB = "web"
    WORKER = "worker"


async def run_checks(settings: Settings, *, process: Process | None = None) -> list[Finding]:
    """Every check; ``process`` is the command this configuration is meant for (None: the
    doctor runs as a one-off, e.g. ``docker run image launchlink doctor``)."""
    findings: list[Finding] = [_process_model(settings, process)]
    for check in CHECKS:
        try:
            findings.extend(await check(settings))
        except Exception as error:  # a check that breaks is itself a finding
            findings.append(Finding(check.__name__.strip("_"), "fail", describe_error(error)))
    return findings


async def _configuration(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    url = urlsplit(settings.public_url)
    production = settings.environment == "production"
    if production and url.scheme != "https":
        found.append(
            Finding(
                "configuration",
                "fail",
                f"public URL {settings.public_url} is not https: fans' sign-in callbacks and "
                "cookies need TLS",
                "set LAUNCHLINK_PUBLIC_URL=https://your.domain",
            )
        )
    if production and settings.simulator_embedded:
        found.append(
            Finding(
                "configuration",
                "fail",
                "the platform simulator is mounted and stands in for real services",
                "unset LAUNCHLINK_SIMULATOR_EMBEDDED",
            )
        )
    if settings.environment == "development" and url.hostname not in (
        "localhost",
        "127.0.0.1",
        "::1",
    ):
        found.append(
            Finding(
                "configuration",
                "warn",
                f"environment is development on {settings.public_url}: emails without SMTP "
                "land in the dev outbox",
                "set LAUNCHLINK_ENVIRONMENT=production",
            )
        )
    if not settings.is_sqlite:
        for name, value in (
            ("LAUNCHLINK_SECRET_KEY", settings.secret_key),
            ("LAUNCHLINK_ENCRYPTION_KEYS", settings.encryption_keys),
        ):
            if value is None:
                found.append(
                    Finding(
                        "configuration",
                        "warn",
                        f"{name} is generated into {settings.var_dir}/ on this host; other "
                        "hosts would generate their own",
                        f"set {name} explicitly and identically on every host",
                    )
                )
    if not found:
        found.append(Finding("configuration", "ok", f"{settings.environment} at {url.geturl()}"))
    return found


_WORKER_PARTS = "fulfilment, outbox delivery, fans' messages and analytics enrichment"


def _process_model(settings: Settings, process: Process | None) -> Finding:
    """What runs where under this configuration, for the command it is meant for.

    ``LAUNCHLINK_EMBEDDED_WORKER`` is read by web processes only, and ``launchlink web``
    turns it off unless it is set: the same unset variable means "worker inside" for
    ``serve`` and "no worker" for ``web``, and nothing for ``worker`` or a one-off command
    (``migrate``, this doctor). So the finding names the command, and whether the variable
    was set decides what ``web`` does.
    """
    explicit = "embedded_worker" in settings.model_fields_set
    shared = not settings.is_sqlite
    area = f"process model ({process.value})" if process else "process model"
    if process is Process.WORKER:
        return Finding(
            area,
            "ok",
            f"`launchlink worker` runs {_WORKER_PARTS}; LAUNCHLINK_EMBEDDED_WORKER does not "
            "apply to it",
        )
    if process is Process.WEB or (process is None and (shared or explicit)):
        inside = settings.embedded_worker if explicit else False
        if inside and shared:
            return Finding(
                area,
                "warn",
                "LAUNCHLINK_EMBEDDED_WORKER=true: every `launchlink web` (and `serve`) "
                f"process also runs {_WORKER_PARTS}, beside its requests",
                "unset LAUNCHLINK_EMBEDDED_WORKER (`launchlink web` then serves only) and run "
                "`launchlink worker` processes",
            )
        if inside:
            return Finding(
                area,
                "ok",
                f"LAUNCHLINK_EMBEDDED_WORKER=true: each web process also runs {_WORKER_PARTS}",
            )
        if process is Process.WEB:
            return Finding(
                area,
                "ok",
                f"`launchlink web` serves requests only: {_WORKER_PARTS} need at least one "
                "`launchlink worker` running",
            )
        return Finding(
            area,
            "ok",
            f"`launchlink web` serves requests only and `launchlink worker` runs {_WORKER_PARTS}"
            + (
                "; `launchlink serve` would run them in every web process"
                if not explicit
                else "; `launchlink serve` too serves only (LAUNCHLINK_EMBEDDED_WORKER=false)"
            ),
        )
    # `serve`, or a one-off command on SQLite with the variable unset: the embedded shape.
    command = "`launchlink serve`"
    if not settings.embedded_worker:
        return Finding(
            area,
            "warn",
            f"LAUNCHLINK_EMBEDDED_WORKER=false: {command} serves requests only; pre-saves are "
            "fulfilled and emails sent only while a `launchlink worker` runs",
            "run `launchlink worker` beside it, or unset LAUNCHLINK_EMBEDDED_WORKER",
        )
    if shared:
        return Finding(
            area,
            "ok",
            f"{command} runs {_WORKER_PARTS} in each of its web processes (`--workers N`); "
            "on several hosts run `launchlink web` and `launchlink worker` instead",
        )
    return Finding(
        area,
        "ok",
        f"embedded: {command} runs the web app and {_WORKER_PARTS} in one process on SQLite",
    )


async def _database(settings: Settings) -> list[Finding]:
    database = Database.from_settings(settings)
    where = _safe_url(settings.resolved_database_url)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS * 3):
            async with database.sessionmaker() as session:
                repository = OpsRepository(session)
                await repository.ping()
                current = await repository.migration_revisions()
    except Exception as error:
        return [
            Finding(
                "database",
                "fail",
                f"cannot reach {where}: {describe_error(error)}",
                "check LAUNCHLINK_DATABASE_URL and that the server runs",
            )
        ]
    finally:
        await database.dispose()
    found = [Finding("database", "ok", f"reached {where}")]
    heads = head_revisions()
    if current != heads:
        have = ",".join(sorted(current)) or "never migrated"
        found.append(
            Finding(
                "migrations",
                "fail",
                f"database at {have}, this code needs {','.join(sorted(heads))}",
                "run `launchlink migrate`",
            )
        )
    else:
        found.append(Finding("migrations", "ok", f"at head {','.join(sorted(heads))}"))
    if settings.is_sqlite and settings.fulfilment.limiter == "redis":
        found.append(
            Finding("fulfilment", "warn", "the Redis limiter is configured on SQLite (one host)")
        )
    return found


async def _redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        if settings.is_sqlite:
            return [Finding("redis", "ok", "not configured (not needed on one host)")]
        return [
            Finding(
                "redis",
                "warn",
                "not configured: rate limits are shared through the database (one round trip "
                "per request)",
                "set LAUNCHLINK_REDIS_URL for several workers at high rates",
            )
        ]
    from redis.asyncio import Redis

    client = Redis.from_url(
        settings.redis_url,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    where = _safe_url(settings.redis_url)
    try:
        await client.ping()
    except Exception as error:
        return [
            Finding(
                "redis",
                "fail",
                f"cannot reach {where}: {describe_error(error)}",
                "check LAUNCHLINK_REDIS_URL and that Redis runs",
            )
        ]
    finally:
        await client.aclose()
    return [Finding("redis", "ok", f"reached {where}")]


async def _encryption_keys(settings: Settings) -> list[Finding]:
    try:
        keys = settings.resolved_encryption_keys()
    except ValueError as error:
        return [Finding("encryption keys", "fail", str(error), "set LAUNCHLINK_ENCRYPTION_KEYS")]
    bad = [index for index, key in enumerate(keys, start=1) if not _is_fernet_key(key)]
    if bad:
        return [
            Finding(
                "encryption keys",
                "fail",
                f"key(s) number {', '.join(map(str, bad))} are not Fernet keys (32 url-safe "
                "base64 bytes)",
                'generate one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"',
            )
        ]
    source = "configured" if settings.encryption_keys is not None else "generated in var/"
    return [Finding("encryption keys", "ok", f"{len(keys)} key(s), {source}")]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


async def _mail(settings: Settings) -> list[Finding]:
    mail = settings.mail
    if not mail.host:
        level: Level = "warn" if settings.environment == "production" else "ok"
        where = "dropped (logged by subject)" if level == "warn" else "kept in the dev outbox"
        return [
            Finding(
                "mail",
                level,
                f"no SMTP host: fans' emails are {where}",
                "set LAUNCHLINK_MAIL__HOST",
            )
        ]
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS * 2):
            reader, writer = await asyncio.open_connection(mail.host, mail.port)
            banner = await reader.readline()
            writer.close()
            await writer.wait_closed()
    except Exception as error:
        return [
            Finding(
                "mail",
                "fail",
                f"cannot reach SMTP {mail.host}:{mail.port}: {describe_error(error)}",
                "check LAUNCHLINK_MAIL__HOST and LAUNCHLINK_MAIL__PORT",
            )
        ]
    if not banner.startswith(b"220"):
        return [
            Finding("mail", "fail", f"{mail.host}:{mail.port} does not greet like an SMTP server")
        ]
    return [Finding("mail", "ok", f"SMTP {mail.host}:{mail.port} answers")]


async def _services(settings: Settings) -> list[Finding]:
    from launchlink.connectors.registry import ConnectorRegistry

    found: list[Finding] = []
    registry = ConnectorRegistry(settings.resolved_connectors())
    try:
        for connector in registry.all():
            if connector.available:
                found.append(Finding(f"service {connector.service}", "ok", "credentials set"))
            else:
                found.append(
                    Finding(
                        f"service {connector.service}",
                        "warn",
                        connector.unavailable_reason or "unavailable",
                        "pre-saves there fall back to reminders; see docs/configuration.md",
                    )
                )
    finally:
        await registry.aclose()
    if settings.connectors_use_simulator:
        found.append(Finding("services", "warn", "every service is the embedded simulator"))
    return found


async def _workspace_apps(settings: Settings) -> list[Finding]:
    """Which workspaces bring their own service apps, and any the service refused."""
    from launchlink.integrations.repository import IntegrationsRepository

    database = Database.from_settings(settings)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS * 3):
            async with database.sessionmaker() as session:
                repository = IntegrationsRepository(session)
                counts = await repository.credential_counts()
                rejected = await repository.rejected_credentials()
    except Exception:
        return []  # the database check reports an unreachable or unmigrated database
    finally:
        await database.dispose()
    found = [
        Finding(
            f"workspace apps {service}",
            "ok",
            f"{count} workspace(s) brought their own {service} app: their fans sign in, and "
            "their pre-saves are fulfilled, through it",
        )
        for service, count in sorted(counts.items())
    ]
    found.extend(
        Finding(
            f"workspace app {row.service} {row.workspace_id}",
            "fail",
            f"the {row.service} app {row.client_id} of workspace {row.workspace_id} was "
            f"refused by the service: {row.rejected_reason}; {row.service} is not offered "
            "on that workspace's pages",
            "the workspace's owner or admin replaces it in Settings → Service apps",
        )
        for row in rejected
    )
    return found


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


CHECKS: tuple[Check, ...] = (
    _configuration,
    _database,
    _redis,
    _encryption_keys,
    _mail,
    _services,
    _workspace_apps,
)
