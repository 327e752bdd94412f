"""A real ``launchlink worker`` process — the one operators run, wired by the bootstrap —
is SIGKILLed mid-batch, again and again, and restarted: the pre-saves' events are planned
into messages exactly once (the outbox's session handlers), no message is lost, none is
recorded twice, and what reaches the SMTP server twice is only what a kill cut short —
the same message (same Message-ID, DKIM-signed), marked ``sent-again`` in the ledger."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from launchlink.db import Database
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.models import Message, MessageStatus
from launchlink.models.messaging import MessageKind, MessageState
from launchlink.models.presave import ServiceMode
from tests.messaging.conftest import DKIM_DOMAIN
from tests.messaging.sink import Sink
from tests.messaging.world import PUBLIC_URL, make_world

ROOT = Path(__file__).resolve().parents[2]
FANS = 300
KILLS = 3
BATCH = 20
"""Messages one round claims: what one SIGKILL can cut short, per lane."""
LANES = MessagingSettings().lanes
DEADLINE_SECONDS = 150


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
        "LAUNCHLINK_MESSAGING__SMTP_CONNECTIONS": "2",
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


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_no_message(
    db: Database, database_url: str, sink: Sink, tmp_path: Path
) -> None:
    world = await make_world(db, release_date=date(2026, 1, 9))
    consent = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(FANS):
        # "Remind me" sign-ups: only messaging acts on them (fulfilment has nothing to do).
        await world.add_fan(
            f"fan{n}", country="DE", consent_at=consent, mode=ServiceMode.reminder, emit=True
        )
    key = tmp_path / "dkim.pem"
    key.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    env = _environment(database_url, sink, tmp_path / "var", key)
    rng = random.Random(7)
    deadline = time.monotonic() + DEADLINE_SECONDS
    kills_at: list[int] = []
    with (tmp_path / "worker.log").open("ab") as log:
        child = _start(env, log)
        try:
            for _ in range(KILLS):
                target = len(sink.raw) + rng.randint(40, 120)
                while len(sink.raw) < target:
                    assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                    assert child.poll() is None, (tmp_path / "worker.log").read_text()
                    await asyncio.sleep(0.02)
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills_at.append(len(sink.raw))
                child = _start(env, log)
            while await _sent(db) < FANS:
                assert time.monotonic() < deadline, "not every message was sent in time"
                await asyncio.sleep(0.2)
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    async with db.sessionmaker() as session:
        messages = list((await session.execute(select(Message))).scalars())
        again = set(
            (
                await session.execute(
                    select(MessageStatus.message_id).where(MessageStatus.status == "sent-again")
                )
            ).scalars()
        )
    received = Counter(sink.message_ids())
    expected = {f"<{m.id}@{DKIM_DOMAIN}>" for m in messages}
    doubled = {mid for mid, count in received.items() if count > 1}
    print(
        f"\nmessaging SIGKILL: {KILLS} kills of `launchlink worker` at {kills_at} received, "
        f"{len(sink.raw)} hand-overs for {FANS} messages, {len(doubled)} handed over twice, "
        f"{len(again)} sent-again"
    )
    assert all(0 < k < FANS for k in kills_at)
    # Planned once per pre-save: the release-day message (its countdown's moment had
    # passed before the worker first ran).
    assert len(messages) == FANS
    assert {m.kind for m in messages} == {MessageKind.release_day}
    # Nothing lost, nothing recorded twice.
    assert {m.state for m in messages} == {MessageState.sent}
    assert set(received) == expected
    # A repeat on the wire is the same message, only where a kill cut its send short:
    # each of the kills can do that to a given message once.
    assert max(received.values()) <= 1 + KILLS
    assert len(doubled) <= KILLS * BATCH * LANES
    assert {f"<{i}@{DKIM_DOMAIN}>" for i in again} >= doubled
    # What went out was signed by the operator's key (the wired channel, not a test's).
    assert all(b"DKIM-Signature:" in raw for raw in sink.raw)
