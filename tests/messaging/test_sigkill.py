"""A real ``launchlink worker`` process — the one operators run, wired by the bootstrap —
is SIGKILLed mid-batch, again and again, and restarted, on SQLite and PostgreSQL: the
pre-saves' events are planned into messages exactly once (the outbox's session handlers),
no message is lost, none is recorded twice.

* **SMS** (the Twilio simulator served over real HTTP): no text reaches the provider twice
  — a message the killed worker marked handed over is looked up in Twilio's Messages list
  before anything is re-sent.
* **Email** (a real SMTP server): SMTP has no idempotency key, so a copy can reach the
  server twice only when the kill fell between its ``250`` and our commit — at most one
  message per open SMTP connection per kill (``lanes × smtp_connections``), with the same
  Message-ID and marked ``sent-again`` in the ledger. The copies are counted per
  Message-ID at the sink.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from launchlink.db import Database
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.models import Message, MessageStatus
from launchlink.models.messaging import (
    MessageChannel,
    MessageKind,
    MessageState,
    QuietHoursRule,
)
from launchlink.models.presave import ServiceMode
from launchlink.simulator.services.twilio import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, TwilioSim
from tests.messaging.conftest import DKIM_DOMAIN
from tests.messaging.sink import Sink, free_port
from tests.messaging.world import PUBLIC_URL, make_world

ROOT = Path(__file__).resolve().parents[2]
FANS = 300
KILLS = 3
BATCH = 20
"""Messages one round claims: what one SIGKILL can cut short, per lane."""
LANES = MessagingSettings().lanes
SMTP_CONNECTIONS = 2
IN_DOUBT = LANES * SMTP_CONNECTIONS
"""Messages one worker can have accepted by the provider but not yet settled: one per
connection of each lane (the write-ahead settles each before its connection sends on)."""
DEADLINE_SECONDS = 300


def _environment(database_url: str, sink: Sink, var: Path, key: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LAUNCHLINK_DATABASE_URL": database_url,
        "LAUNCHLINK_VAR_DIR": str(var),
        "LAUNCHLINK_PUBLIC_URL": PUBLIC_URL,
        "LAUNCHLINK_ENVIRONMENT": "test",
        "LAUNCHLINK_GEOIP": "off",
        "LAUNCHLINK_SMTP_URL": f"smtp://127.0.0.1:{sink.port}?security=none",
        "LAUNCHLINK_MAIL__FROM_ADDRESS": f"Tide Records <news@{DKIM_DOMAIN}>",
        "LAUNCHLINK_MESSAGING__DKIM_DOMAIN": DKIM_DOMAIN,
        "LAUNCHLINK_MESSAGING__DKIM_KEY_FILE": str(key),
        "LAUNCHLINK_MESSAGING__BATCH": str(BATCH),
        "LAUNCHLINK_MESSAGING__LEASE_SECONDS": "2",
        "LAUNCHLINK_MESSAGING__EMAIL_PER_SECOND": "150",
        "LAUNCHLINK_MESSAGING__SMTP_CONNECTIONS": str(SMTP_CONNECTIONS),
        "LAUNCHLINK_OUTBOX__POLL_SECONDS": "0.2",
        "LAUNCHLINK_OUTBOX__LEASE_SECONDS": "2",
    }


def _start(env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
    return subprocess.Popen([launchlink, "worker"], env=env, stdout=log, stderr=log, cwd=ROOT)


async def _sent(db: Database) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).where(Message.state == MessageState.sent))
    return int(count or 0)


async def _kill_again_and_again(
    db: Database,
    env: dict[str, str],
    log_path: Path,
    handed_over: Callable[[], int],
) -> list[int]:
    """Start a worker, SIGKILL it ``KILLS`` times mid-batch (after 40–120 more hand-overs
    each time), restart it, and wait until every message is settled ``sent``."""
    rng = random.Random(7)
    deadline = time.monotonic() + DEADLINE_SECONDS
    kills_at: list[int] = []
    with log_path.open("ab") as log:
        child = _start(env, log)
        try:
            for _ in range(KILLS):
                target = handed_over() + rng.randint(40, 120)
                while handed_over() < target:
                    assert time.monotonic() < deadline, log_path.read_text()
                    assert child.poll() is None, log_path.read_text()
                    await asyncio.sleep(0.02)
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills_at.append(handed_over())
                child = _start(env, log)
            while await _sent(db) < FANS:
                assert time.monotonic() < deadline, "not every message was sent in time"
                assert child.poll() is None, log_path.read_text()
                await asyncio.sleep(0.2)
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return kills_at


async def _ledger(db: Database, status: str) -> set[UUID]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(MessageStatus.message_id).where(MessageStatus.status == status)
        )
    return set(rows.scalars())


def _dkim_key(path: Path) -> Path:
    path.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_loses_no_email_and_doubles_one_per_connection_at_most(
    db: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    world = await make_world(db, release_date=date(2026, 1, 9))
    consent = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(FANS):
        # "Remind me" sign-ups: only messaging acts on them (fulfilment has nothing to do).
        await world.add_fan(
            f"fan{n}", country="DE", consent_at=consent, mode=ServiceMode.reminder, emit=True
        )
    env = _environment(database_url, sink, tmp_path / "var", _dkim_key(tmp_path / "dkim.pem"))
    kills_at = await _kill_again_and_again(db, env, tmp_path / "worker.log", lambda: len(sink.raw))

    async with db.sessionmaker() as session:
        messages = list((await session.execute(select(Message))).scalars())
    again = await _ledger(db, "sent-again")
    retried = await _ledger(db, "retrying")
    received = Counter(sink.message_ids())
    expected = {f"<{m.id}@{DKIM_DOMAIN}>" for m in messages}
    doubled = {mid for mid, count in received.items() if count > 1}
    print(
        f"\nmessaging SIGKILL (email): {KILLS} kills of `launchlink worker` at {kills_at} "
        f"received, {len(sink.raw)} hand-overs for {FANS} messages, {len(doubled)} Message-IDs "
        f"received twice (bound {KILLS * IN_DOUBT} + retried), {len(again)} sent-again, "
        f"{len(retried)} retried after a transient SMTP failure"
    )
    assert all(0 < k < FANS for k in kills_at)
    # Planned once per pre-save: the release-day message (its countdown's moment had
    # passed before the worker first ran).
    assert len(messages) == FANS
    assert {m.kind for m in messages} == {MessageKind.release_day}
    # Nothing lost, nothing recorded twice, every message on the wire.
    assert {m.state for m in messages} == {MessageState.sent}
    assert {m.handover_token for m in messages} == {None}
    assert set(received) == expected
    # The residual of SMTP (no idempotency key): a copy is doubled only where a kill fell
    # between the server's 250 and our commit — one message per open connection at most.
    assert len(sink.raw) - FANS == sum(count - 1 for count in received.values())
    # The other residual: a timeout or a dropped connection after the server took the
    # data but before we read its 250 is a transient failure, retried later — a copy too.
    maybe_twice = {f"<{i}@{DKIM_DOMAIN}>" for i in again | retried}
    assert maybe_twice >= doubled
    assert len(doubled - {f"<{i}@{DKIM_DOMAIN}>" for i in retried}) <= KILLS * IN_DOUBT
    assert max(received.values()) <= 1 + KILLS + len(retried)
    # What went out was signed by the operator's key (the wired channel, not a test's).
    assert all(b"DKIM-Signature:" in raw for raw in sink.raw)


@contextmanager
def _served(app: Any) -> Iterator[int]:
    """The simulator on a real port (uvicorn in a thread of the test process)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the Twilio simulator did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_sends_every_text_exactly_once(
    db: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    world = await make_world(db, release_date=date(2026, 1, 9))
    consent = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(FANS):
        await world.add_fan(
            f"fan{n}", country="DE", consent_at=consent, mode=ServiceMode.reminder, emit=True,
            email=False, phone=f"+4915{n:09d}", sms_confirmed=True,
        )  # fmt: skip
    async with db.transaction() as session:
        # Texts at any hour: the test must not depend on the hour it runs at.
        session.add(
            QuietHoursRule(
                channel=MessageChannel.sms, scope="*", allowed_from=0, allowed_until=1440
            )
        )
    sim = TwilioSim()
    with _served(sim.app()) as port:
        env = {
            **_environment(database_url, sink, tmp_path / "var", _dkim_key(tmp_path / "k.pem")),
            "LAUNCHLINK_MESSAGING__SMS_PROVIDER": "twilio",
            "LAUNCHLINK_MESSAGING__TWILIO__ACCOUNT_SID": DEMO_ACCOUNT_SID,
            "LAUNCHLINK_MESSAGING__TWILIO__AUTH_TOKEN": DEMO_AUTH_TOKEN,
            "LAUNCHLINK_MESSAGING__TWILIO__FROM_NUMBER": "+15005550006",
            "LAUNCHLINK_MESSAGING__TWILIO__API_URL": f"http://127.0.0.1:{port}",
            "LAUNCHLINK_MESSAGING__SMS_PER_SECOND": "150",
        }
        kills_at = await _kill_again_and_again(
            db, env, tmp_path / "worker.log", lambda: len(sim.messages)
        )
        texts = list(sim.messages.values())

    async with db.sessionmaker() as session:
        messages = list((await session.execute(select(Message))).scalars())
    reconciled = await _ledger(db, "reconciled")
    checked = await _ledger(db, "sent-after-check")
    per_fan = Counter(t.to for t in texts)
    print(
        f"\nmessaging SIGKILL (sms): {KILLS} kills of `launchlink worker` at {kills_at} "
        f"texts, {len(texts)} texts at the provider for {FANS} messages, "
        f"{sum(c - 1 for c in per_fan.values())} doubled; {len(reconciled)} interrupted "
        f"hand-overs found at the provider, {len(checked)} not found there and sent"
    )
    assert all(0 < k < FANS for k in kills_at)
    assert len(messages) == FANS
    assert {(m.kind, m.channel) for m in messages} == {
        (MessageKind.release_day, MessageChannel.sms)
    }
    assert {m.state for m in messages} == {MessageState.sent}
    # Exactly once at the provider: one text per fan, each recorded with its own SID.
    assert len(texts) == FANS
    assert set(per_fan.values()) == {1}
    assert {m.provider_message_id for m in messages} == {t.sid for t in texts}
    # The kills did cut hand-overs short, and asking the provider settled them.
    assert reconciled | checked
