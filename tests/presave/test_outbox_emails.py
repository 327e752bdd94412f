"""Fans' emails travel the outbox: sent only after commit, by whichever process is alive.

The web process delivers its own events right after the commit (so the email has left
when the page answers); when it dies first, a worker process — a real ``launchlink
worker`` subprocess, without any web piece — sends it. Release-day messages (the
reminders) are sent by the worker's delivery loop too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from launchlink.app import Application
from launchlink.config import Settings
from launchlink.models import Link, Message
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from launchlink.models.outbox import OutboxEvent
from launchlink.presave import service as presave_service
from launchlink.presave.service import FanChoices
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import Inbox, confirm_address, make_presave_link, sign_up_for_reminder

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0


def _environment(settings: Settings, smtp_port: int) -> dict[str, str]:
    """The same instance as ``settings`` (database, keys in var/, mail), for another process."""
    return {
        **os.environ,
        "LAUNCHLINK_DATABASE_URL": settings.resolved_database_url,
        "LAUNCHLINK_VAR_DIR": str(settings.var_dir),
        "LAUNCHLINK_PUBLIC_URL": settings.public_url,
        "LAUNCHLINK_ENVIRONMENT": "test",
        "LAUNCHLINK_GEOIP": "off",
        "LAUNCHLINK_TRUSTED_COUNTRY_HEADER": "CF-IPCountry",
        "LAUNCHLINK_MAIL__HOST": "127.0.0.1",
        "LAUNCHLINK_MAIL__PORT": str(smtp_port),
        "LAUNCHLINK_MAIL__SECURITY": "none",
        "LAUNCHLINK_MAIL__FROM_ADDRESS": settings.resolved_mail.from_address,
        "LAUNCHLINK_MESSAGING__DKIM_DOMAIN": settings.messaging.dkim_domain or "",
        "LAUNCHLINK_MESSAGING__DKIM_KEY_FILE": str(settings.messaging.dkim_key_file),
        "LAUNCHLINK_OUTBOX__POLL_SECONDS": "0.2",
    }


@contextmanager
def worker_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``launchlink worker`` in its own process; stopped with Ctrl-C, killed if stuck."""
    launchlink = os.path.join(os.path.dirname(sys.executable), "launchlink")
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [launchlink, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            yield worker
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


def wait_for(
    found: Callable[[], list[EmailMessage]], worker: subprocess.Popen[bytes], log: Path
) -> list[EmailMessage]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        messages = found()
        if messages:
            return messages
        assert worker.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(f"nothing arrived in {WAIT_SECONDS:.0f} s:\n{log.read_text()}")


async def test_a_worker_process_sends_the_release_day_reminder(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    presave_settings: Settings,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    await sign_up_for_reminder(fan, inbox, "fan@example.com")
    inbox.messages.clear()  # the opt-in and the receipt, sent by the web process itself

    # The worker's clock is the real one: 6 March 2026, the release instant, has passed.
    log = tmp_path / "worker.log"
    with worker_process(_environment(presave_settings, smtp[1]), log) as worker:
        [email] = wait_for(lambda: inbox.to("fan@example.com"), worker, log)
        time.sleep(1.0)  # a second round would have sent it again by now
    assert worker.returncode == 0, log.read_text()

    assert "is out now" in email["Subject"]
    assert "https://links.example.test/soon/deezer?c=email-release" in Inbox.text_of(email)
    assert email["List-Unsubscribe"].startswith("<https://links.example.test/presave/unsubscribe/")
    assert email["DKIM-Signature"] is not None
    assert len(inbox.to("fan@example.com")) == 1  # its countdown came too late: cancelled
    async with papp.context.database.sessionmaker() as session:
        messages = {
            m.kind: m.state
            for m in (
                await session.execute(
                    select(Message).where(Message.channel == MessageChannel.email)
                )
            ).scalars()
        }
    assert messages == {
        MessageKind.release_day: MessageState.sent,
        MessageKind.countdown: MessageState.cancelled,
    }


async def test_the_opt_in_email_is_sent_by_a_worker_when_the_web_process_died_after_commit(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    presave_settings: Settings,
    smtp: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    # Ahead of the real clock too: the dying web process serves the pre-save page.
    await make_presave_link(
        admin,
        label,
        release={"release_instant": "2027-06-04T00:00:00Z"},
        campaign={"service_modes": {"deezer": "reminder"}},
    )
    env = _environment(presave_settings, smtp[1])

    web = subprocess.run(
        [sys.executable, "-m", "tests.presave.web_child", "late@example.com"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert web.returncode == -signal.SIGKILL, web.stderr.decode(errors="replace")
    assert inbox.to("late@example.com") == []  # it died before sending anything
    async with papp.context.database.sessionmaker() as session:
        stored = list(
            (
                await session.execute(
                    select(OutboxEvent.type).where(
                        OutboxEvent.type == "contact.confirmation_requested"
                    )
                )
            ).scalars()
        )
    assert stored == ["contact.confirmation_requested"]  # committed with the request

    log = tmp_path / "worker.log"
    with worker_process(env, log) as worker:
        [email] = wait_for(lambda: inbox.to("late@example.com"), worker, log)
        time.sleep(1.0)
    assert worker.returncode == 0, log.read_text()
    assert email["Subject"].startswith("Confirm your reminder")
    assert len(inbox.to("late@example.com")) == 1

    # The link in it works: the token travelled sealed through the outbox.
    assert (await confirm_address(fan, inbox, "late@example.com")).status_code == 303
    receipts = [m for m in inbox.to("late@example.com") if m["Subject"].startswith("Your pre-save")]
    assert len(receipts) == 1


class Boom(Exception):
    pass


async def test_an_email_is_sent_only_after_its_transaction_commits(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    created = await make_presave_link(admin, label)
    database, kit, outbox = papp.context.database, papp.context.presave, papp.context.outbox
    assert kit is not None
    assert outbox is not None

    async def ask_for_magic_link(address: str) -> None:
        async with database.transaction(write_lock=True) as session:
            link = await session.get(Link, UUID(created["link"]["id"]))
            assert link is not None
            await presave_service.create_magic_link(
                session, kit, link=link, email=address, service=None, choices=FanChoices()
            )
            if address.startswith("rolled"):
                raise Boom

    with pytest.raises(Boom):
        await ask_for_magic_link("rolled-back@example.com")
    await ask_for_magic_link("committed@example.com")
    assert inbox.messages == []  # nothing is sent inside a transaction

    await outbox.drain()
    await outbox.drain()  # handled once: a second pass sends nothing again

    assert inbox.to("rolled-back@example.com") == []
    [email] = inbox.to("committed@example.com")
    assert email["Subject"].startswith("Finish your pre-save")
    assert "https://links.example.test/presave/magic/" in Inbox.text_of(email)
    assert len(inbox.messages) == 1
