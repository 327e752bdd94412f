"""Messaging benchmark: the message outbox against a bare aiosmtplib loop, and SMS at the
simulator's rate limit. Not a test: run it by hand.

    .venv/bin/python bench/messaging.py --fans 10000 --database sqlite
    .venv/bin/python bench/messaging.py --fans 10000 --database postgresql --dkim on

**Email**: ``--fans`` fans with a confirmed address get their release-day message through
the outbox (claim under lease, consent and quiet-hours checks, render, DKIM-sign, hand
over on ``--connections`` kept-open SMTP connections, settle with ledger rows and events)
to a local aiosmtpd sink. The baseline, in the same run and to the same sink, is a bare
loop over the same number of aiosmtplib connections that builds and DKIM-signs the same
messages but touches no database: the ratio is what the outbox costs on top of sending.
The sink is aiosmtpd's discarding handler in a process of its own.

**SMS**: ``--fans`` texts to the Twilio simulator (in-process, over HTTP/ASGI) with its
rate limit set to ``--sms-rate`` per second and the delivery configured with that limit
(it paces ``messaging.rate_margin`` under it); the figure is the achieved rate over the
limit, from the first claim until nothing is queued, with the 429s the simulator gave.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402
import httpx  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from tests.messaging.conftest import SECRET, make_delivery  # noqa: E402
from tests.messaging.sink import free_port  # noqa: E402
from tests.messaging.world import PUBLIC_URL, make_world  # noqa: E402

from launchlink.db import Database  # noqa: E402
from launchlink.kit.clock import SystemClock  # noqa: E402
from launchlink.kit.ids import uuid7  # noqa: E402
from launchlink.mail.port import OutgoingEmail  # noqa: E402
from launchlink.mail.settings import MailSettings  # noqa: E402
from launchlink.mail.smtp import build_message  # noqa: E402
from launchlink.messaging import planner  # noqa: E402
from launchlink.messaging.channels.base import Envelope, SenderIdentity  # noqa: E402
from launchlink.messaging.channels.email import SmtpChannel  # noqa: E402
from launchlink.messaging.channels.settings import TwilioSettings  # noqa: E402
from launchlink.messaging.delivery import Delivery  # noqa: E402
from launchlink.messaging.dkim import DkimSigner  # noqa: E402
from launchlink.messaging.repository import MessagingRepository  # noqa: E402
from launchlink.messaging.sms.twilio import TwilioChannel  # noqa: E402
from launchlink.messaging.templates import default_template, render  # noqa: E402
from launchlink.migrate import upgrade_to_head  # noqa: E402
from launchlink.models import Fan, Message, Presave  # noqa: E402
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState  # noqa: E402
from launchlink.models.presave import PresaveState, ServiceMode  # noqa: E402
from launchlink.presave.service import signed_unsubscribe_headers  # noqa: E402
from launchlink.simulator.services.twilio import (  # noqa: E402
    DEMO_ACCOUNT_SID,
    DEMO_AUTH_TOKEN,
    TwilioSim,
)
from launchlink.web.security import Signer  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
RELEASE_DAY = date(2026, 1, 9)
CONSENT = datetime(2026, 1, 1, tzinfo=UTC)


async def add_fans(database: Database, world: Any, count: int, *, sms: bool) -> None:
    """Fans with consent and a pre-save each, inserted in bulk (the builder is one by one)."""
    due = datetime(2026, 1, 8, 23, 0, tzinfo=UTC)  # Berlin's midnight of the release day
    for start in range(0, count, 2000):
        fans, presaves = [], []
        for n in range(start, min(count, start + 2000)):
            fan_id = uuid7()
            fans.append(
                {
                    "id": fan_id, "workspace_id": world.workspace_id, "country": "DE",
                    "email": None if sms else f"fan{n}@fans.example.test",
                    "email_consent_at": None if sms else CONSENT,
                    "phone": f"+4915{n:09d}" if sms else None,
                    "sms_consent_at": CONSENT if sms else None,
                    "sms_confirmed_at": CONSENT if sms else None, "language": "en",
                    "created_at": CONSENT, "updated_at": CONSENT,
                }
            )  # fmt: skip
            presaves.append(
                {
                    "id": uuid7(), "workspace_id": world.workspace_id, "link_id": world.link_id,
                    "release_id": world.release_id, "fan_id": fan_id, "service": "spotify",
                    "mode": ServiceMode.direct_save, "state": PresaveState.waiting,
                    "country": "DE", "time_zone": "Europe/Berlin", "due_at": due,
                    "actions": {"save_release": True}, "outcome": {}, "standing": False,
                    "created_at": CONSENT, "updated_at": CONSENT,
                }
            )  # fmt: skip
        async with database.transaction() as session:
            await session.execute(insert(Fan), fans)
            await session.execute(insert(Presave), presaves)


async def prepare(url: str, count: int, *, sms: bool, slug: str) -> tuple[Database, Any]:
    database = Database(url)
    world = await make_world(database, release_date=RELEASE_DAY, slug=slug)
    await add_fans(database, world, count, sms=sms)
    async with database.transaction() as session:
        planned = await planner.plan_release(session, world.release_id, now=SystemClock().now())
    assert planned == count, planned
    return database, world


async def drain(delivery: Delivery) -> None:
    """The production worker loop (``Delivery.run``: ``messaging.lanes`` rounds per
    channel at once) until no message is left queued; a retry backing off is waited for,
    not abandoned. Polled every 200 ms (at most that much wall time added to a run of
    tens of seconds), outside the timed work's own path: the watcher's CPU is charged to
    the outbox's figure, and at 50 ms it was ~0.1 ms per message on a loaded machine."""
    stop = asyncio.Event()

    async def watch() -> None:
        while True:
            await asyncio.sleep(0.2)
            async with delivery.database.sessionmaker() as session:
                # One row of the due index, not a count of them all: the watcher's own
                # CPU is charged to the outbox's figure.
                left = await session.scalar(
                    select(Message.id).where(Message.state == MessageState.queued).limit(1)
                )
            if not left:
                stop.set()
                return

    await asyncio.gather(delivery.run(stop, idle_seconds=0.01), watch())


def signer() -> DkimSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return DkimSigner(domain="mail.example.test", selector="bench", private_key_pem=pem)


async def bare_loop(
    port: int,
    count: int,
    connections: int,
    dkim: DkimSigner | None,
    *,
    baseline: str = "same",
    slug: str = "email-dkim",
) -> tuple[float, float]:
    """Wall and CPU seconds of the bare loop (the CPU time is this process's alone: the
    sink runs in its own).

    ``same`` (the default) builds the message the outbox sends, by the code that builds it
    there (``SmtpChannel.render``: text and HTML parts, the signed List-Unsubscribe
    headers, DKIM), from a template rendered once: per message only the recipient, the
    Message-ID and the unsubscribe token differ. ``text`` is the loop this benchmark
    had before 2026-12-04: a text-only message with an unsigned unsubscribe URL (~1 ms
    of CPU less per message than what the outbox sends)."""
    clock = SystemClock()
    builder = SmtpChannel(
        MailSettings(host="127.0.0.1", port=port, security="none"),
        signer=dkim, connections=0, clock=clock,
    )  # fmt: skip
    sender = SenderIdentity(email_address="news@mail.example.test", email_name="Tide Records")
    unsubscribe = Signer(SECRET)
    rendered = render(
        default_template(MessageKind.release_day, MessageChannel.email, "en"),
        {
            "title": "Tidewater", "artists": "Nova Reyes", "service_name": "Spotify",
            "listen_url": f"{PUBLIC_URL}/{slug}/spotify?c=email-release",
            "workspace": "Tide Records", "hours": 24, "saved": False, "body": "",
        },
    )  # fmt: skip
    link_id = uuid7()

    def same(n: int) -> bytes:
        headers = signed_unsubscribe_headers(unsubscribe, PUBLIC_URL, uuid7(), link_id)
        url = headers["List-Unsubscribe"].strip("<>")
        return builder.render(
            Envelope(
                message_id=uuid7(),
                to=f"fan{n}@fans.example.test",
                subject=rendered.subject,
                text=f"{rendered.text.rstrip()}\n\n--\nUnsubscribe: {url}\n",
                html=rendered.html,
                sender=sender,
                headers=headers,
            )
        )

    def text(n: int) -> bytes:
        email = build_message(
            OutgoingEmail(
                to=f"fan{n}@fans.example.test",
                subject="Tidewater is out now",
                text="Tidewater by Nova Reyes is out now.\n\nListen on Spotify: "
                "https://links.example.test/tidewater/spotify?c=email-release\n",
                headers={
                    "List-Unsubscribe": f"<https://links.example.test/u/{uuid.uuid4()}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                },
            ),
            from_address="Tide Records <news@mail.example.test>",
            message_id=f"<{uuid7()}@mail.example.test>",
        )
        raw = email.as_bytes()
        return dkim.sign(raw) if dkim else raw

    build = same if baseline == "same" else text

    async def worker(indexes: range) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        for n in indexes:
            await client.sendmail("news@mail.example.test", [f"fan{n}@fans.example.test"], build(n))
        await client.quit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(range(i, count, connections)) for i in range(connections)))
    return time.perf_counter() - started, time.process_time() - cpu


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """aiosmtpd's discarding sink in its own process: sharing our GIL it would slow the
    sender it measures."""
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return sink
        time.sleep(0.1)
    sink.kill()
    raise RuntimeError("the SMTP sink did not start")


async def email_run(
    url: str,
    count: int,
    connections: int,
    use_dkim: bool,
    profile: Path | None = None,
    baseline: str = "same",
) -> dict[str, float]:
    port = free_port()
    sink = start_sink(port)
    dkim = signer() if use_dkim else None
    try:
        slug = "email-dkim" if use_dkim else "email-plain"
        database, _world = await prepare(url, count, sms=False, slug=slug)
        bare, bare_cpu = await bare_loop(
            port, count, connections, dkim, baseline=baseline, slug=slug
        )
        clock = SystemClock()
        channel = SmtpChannel(
            MailSettings(host="127.0.0.1", port=port, security="none"),
            signer=dkim,
            connections=connections,
            clock=clock,
        )
        delivery = make_delivery(
            database, clock, {MessageChannel.email: channel},
            email_per_second=1e9, batch=200, smtp_connections=connections, lease_seconds=120,
        )  # fmt: skip
        profiler = cProfile.Profile() if profile is not None else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        await drain(delivery)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        outbox, outbox_cpu = time.perf_counter() - started, time.process_time() - cpu
        await channel.close()
        async with database.sessionmaker() as session:
            sent = await session.scalar(
                select(func.count()).where(Message.state == MessageState.sent)
            )
        await database.dispose()
    finally:
        sink.terminate()
        sink.wait()
    assert sent == count, sent
    return {
        "bare": count / bare, "outbox": count / outbox, "ratio": bare / outbox,
        # CPU time per message of this process: the figure that survives a loaded machine.
        "bare_cpu_ms": bare_cpu / count * 1000, "outbox_cpu_ms": outbox_cpu / count * 1000,
        "cpu_ratio": bare_cpu / outbox_cpu,
    }  # fmt: skip


async def sms_run(url: str, count: int, rate: float) -> dict[str, float]:
    database, _world = await prepare(url, count, sms=True, slug="sms")
    async with database.transaction() as session:
        # Throughput, not quiet hours: run at night, the texts would be deferred to 08:00
        # Berlin time and the drain would wait for them.
        await MessagingRepository(session).put_quiet_rule(
            None, MessageChannel.sms, "DE", 0, 24 * 60, note="bench: any hour"
        )
    clock = SystemClock()
    sim = TwilioSim(clock=clock, rate_per_second=rate)
    channel = TwilioChannel(
        TwilioSettings(
            account_sid=DEMO_ACCOUNT_SID,
            auth_token=SecretStr(DEMO_AUTH_TOKEN),
            from_number="+15005550006",
            api_url="http://twilio.sim",
        ),
        transport=httpx.ASGITransport(app=sim.app()),
    )
    delivery = make_delivery(
        database, clock, {MessageChannel.sms: channel},
        sms_per_second=rate, batch=200, smtp_connections=8, lease_seconds=120,
        retry_base_seconds=0.01, retry_cap_seconds=0.01,
    )  # fmt: skip
    started = time.perf_counter()
    await drain(delivery)
    elapsed = time.perf_counter() - started
    await channel.close()
    await database.dispose()
    accepted = len(sim.accepted_at)
    assert accepted == count, accepted
    span = sim.accepted_at[-1] - sim.accepted_at[0]
    return {"rate": rate, "achieved": count / elapsed, "ratio": count / elapsed / rate,
            "accepted_span_rate": (count - 1) / span, "rejected": sim.rejected}  # fmt: skip


def database_url(kind: str, scratch: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{(scratch / 'bench.sqlite3').as_posix()}"
        upgrade_to_head(url)
        return url, None
    import psycopg

    name = f"launchlink_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES}/{name}"
    upgrade_to_head(url)

    def drop() -> None:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


async def main(arguments: argparse.Namespace, url: str) -> None:
    modes = {"both": (True, False), "on": (True,), "off": (False,), "skip": ()}
    for use_dkim in modes[arguments.dkim]:
        email = await email_run(
            url, arguments.fans, arguments.connections, use_dkim, arguments.profile,
            arguments.baseline,
        )  # fmt: skip
        print(
            f"email ({arguments.database}, {arguments.fans} fans, {arguments.connections} "
            f"connections, DKIM {'on' if use_dkim else 'off'}, baseline {arguments.baseline}): "
            f"outbox {email['outbox']:.0f} "
            f"msg/s, bare aiosmtplib loop {email['bare']:.0f} msg/s, ratio {email['ratio']:.2f}; "
            f"CPU per message: outbox {email['outbox_cpu_ms']:.2f} ms, bare loop "
            f"{email['bare_cpu_ms']:.2f} ms, CPU ratio {email['cpu_ratio']:.2f}",
            flush=True,
        )
    if arguments.sms_rate > 0:
        sms = await sms_run(url, arguments.fans, arguments.sms_rate)
        print(
            f"sms ({arguments.database}, {arguments.fans} texts, simulator limit "
            f"{sms['rate']:.0f}/s): {sms['achieved']:.1f}/s, {sms['ratio']:.3f} of the limit, "
            f"{sms['rejected']:.0f} answered 429",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--fans", type=int, default=10_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sms-rate", type=float, default=100.0)
    parser.add_argument("--dkim", choices=("both", "on", "off", "skip"), default="both")
    parser.add_argument(
        "--baseline", choices=("same", "text"), default="same",
        help="the bare loop sends the outbox's message (same) or the older text-only one",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile the outbox part into this file"
    )
    parsed = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url, drop = database_url(parsed.database, Path(scratch))
        try:
            asyncio.run(main(parsed, url))
        finally:
            if drop is not None:
                drop()
