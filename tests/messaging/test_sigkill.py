"""A delivery worker SIGKILLed mid-batch, again and again, and restarted: no message is
lost, none is recorded twice, and what reaches the SMTP server twice is only what a kill
cut short — the same message (same Message-ID), marked ``sent-again`` in the ledger."""

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
from sqlalchemy import func, select

from launchlink.db import Database
from launchlink.kit.clock import SystemClock
from launchlink.messaging import planner
from launchlink.models import Message, MessageStatus
from launchlink.models.messaging import MessageState
from tests.messaging.sink import Sink
from tests.messaging.worker_child import BATCH
from tests.messaging.world import make_world

ROOT = Path(__file__).resolve().parents[2]
FANS = 300
KILLS = 3
DEADLINE_SECONDS = 120


def _start(database_url: str, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "tests.messaging.worker_child",
            "--database-url", database_url, "--smtp-port", str(port),
        ],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=log,
    )  # fmt: skip


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
        await world.add_fan(f"fan{n}", country="DE", consent_at=consent)
    async with db.transaction() as session:
        planned = await planner.plan_release(session, world.release_id, now=SystemClock().now())
    assert planned == FANS  # release day only: the countdown moment has passed
    rng = random.Random(7)
    deadline = time.monotonic() + DEADLINE_SECONDS
    kills_at: list[int] = []
    with (tmp_path / "worker.log").open("ab") as log:
        child = _start(database_url, sink.port, log)
        try:
            for _ in range(KILLS):
                target = len(sink.raw) + rng.randint(40, 120)
                while len(sink.raw) < target:
                    assert time.monotonic() < deadline, "the worker made no progress"
                    await asyncio.sleep(0.02)
                child.send_signal(signal.SIGKILL)
                child.wait()
                kills_at.append(len(sink.raw))
                child = _start(database_url, sink.port, log)
            while await _sent(db) < FANS:
                assert time.monotonic() < deadline, "not every message was sent in time"
                await asyncio.sleep(0.2)
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=20)
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
    expected = {f"<{m.id}@mail.example.test>" for m in messages}
    doubled = {mid for mid, count in received.items() if count > 1}
    print(
        f"\nmessaging SIGKILL: {KILLS} kills at {kills_at} received, {len(sink.raw)} hand-overs "
        f"for {FANS} messages, {len(doubled)} handed over twice, {len(again)} sent-again"
    )
    assert all(0 < k < FANS for k in kills_at)
    # Nothing lost, nothing recorded twice.
    assert {m.state for m in messages} == {MessageState.sent}
    assert set(received) == expected
    # A repeat on the wire is the same message, only where a kill cut a batch short.
    assert max(received.values()) <= 2
    assert len(doubled) <= KILLS * BATCH
    assert {f"<{i}@mail.example.test>" for i in again} >= doubled
