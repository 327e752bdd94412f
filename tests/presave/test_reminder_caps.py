"""No reminder blocks the queue: one whose message cannot be built fails at once with the
reason, a mail outage is retried with backoff a bounded number of times, and the rest of
the batch always goes on."""

from __future__ import annotations

from sqlalchemy import select, update

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.mail.settings import MailSettings
from launchlink.mail.smtp import SmtpMailSender
from launchlink.messaging.service import MAX_ATTEMPTS, ReminderSender, retry_delay
from launchlink.models import Fan, Presave, Reminder
from launchlink.models.presave import ReminderChannel, ReminderState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import Inbox, _free_port, browser_for, make_presave_link
from tests.presave.test_release_moves import sign_up_for_reminder


async def _sign_up(papp: Application, inbox: Inbox, email: str, country: str) -> None:
    async with browser_for(papp, **{"CF-IPCountry": country}) as browser:
        await sign_up_for_reminder(browser, inbox, email)


async def _reminders(papp: Application) -> dict[str, Reminder]:
    async with papp.context.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Reminder, Fan.email)
                .join(Fan, Fan.id == Reminder.fan_id)
                .where(Reminder.channel == ReminderChannel.email)
            )
        ).all()
    return {str(email): reminder for reminder, email in rows}


async def _two_fans_due(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> ReminderSender:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    await _sign_up(papp, inbox, "poisoned@example.com", "JP")  # due first (Tokyo's midnight)
    await _sign_up(papp, inbox, "fine@example.com", "GB")
    async with papp.context.database.sessionmaker() as session:
        latest = max((await session.execute(select(Presave.due_at))).scalars())
    clock.set(latest)
    assert papp.reminders is not None
    return papp.reminders.sender


async def _poison(papp: Application, email: str) -> None:
    # A row written by an older version or an import: a language no locale exists for.
    async with papp.context.database.transaction() as session:
        await session.execute(update(Fan).where(Fan.email == email).values(language="zz"))


async def test_a_message_that_cannot_be_built_fails_at_once_and_the_batch_goes_on(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    sender = await _two_fans_due(papp, admin, label, inbox, clock)
    await _poison(papp, "poisoned@example.com")
    inbox.messages.clear()

    round_ = await sender.send_round()

    assert (round_.claimed, round_.sent, round_.failed, round_.retrying) == (2, 1, 1, 0)
    assert len(inbox.to("fine@example.com")) == 1
    assert inbox.to("poisoned@example.com") == []
    failed = (await _reminders(papp))["poisoned@example.com"]
    assert failed.state is ReminderState.failed
    assert failed.last_error is not None
    assert failed.last_error.startswith("the message cannot be built: UnknownLocaleError")
    assert failed.attempts == 1
    assert (await sender.send_round()).claimed == 0  # never tried again


async def test_a_poisoned_reminder_does_not_hold_back_the_next_one(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    sender = await _two_fans_due(papp, admin, label, inbox, clock)
    await _poison(papp, "poisoned@example.com")
    inbox.messages.clear()

    first = await sender.send_round(limit=1)  # the oldest: the poisoned one
    second = await sender.send_round(limit=1)

    assert (first.claimed, first.failed) == (1, 1)
    assert (second.claimed, second.sent) == (1, 1)
    assert len(inbox.to("fine@example.com")) == 1


async def test_a_mail_outage_is_retried_with_backoff_then_given_up(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    sender = await _two_fans_due(papp, admin, label, inbox, clock)
    working = sender.mail
    # A real SMTP client aimed at a port where no mail server listens.
    sender.mail = SmtpMailSender(
        MailSettings(host="127.0.0.1", port=_free_port(), security="none", timeout_seconds=2)
    )
    seen: list[tuple[int, int]] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        round_ = await sender.send_round()
        seen.append((round_.retrying, round_.failed))
        assert (await sender.send_round()).claimed == 0  # backing off, not hammering
        clock.advance(retry_delay(attempt))

    assert seen == [(2, 0)] * (MAX_ATTEMPTS - 1) + [(0, 2)]
    rows = await _reminders(papp)
    for reminder in rows.values():
        assert reminder.state is ReminderState.failed
        assert reminder.attempts == MAX_ATTEMPTS
        assert reminder.last_error is not None
        assert reminder.last_error.startswith(f"gave up after {MAX_ATTEMPTS} failed hand-overs")
    sender.mail = working
    assert (await sender.send_round()).claimed == 0


async def test_a_reminder_that_recovers_within_its_attempts_goes_out_once(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    sender = await _two_fans_due(papp, admin, label, inbox, clock)
    working = sender.mail
    sender.mail = SmtpMailSender(
        MailSettings(host="127.0.0.1", port=_free_port(), security="none", timeout_seconds=2)
    )
    assert (await sender.send_round()).retrying == 2
    clock.advance(retry_delay(1))
    assert (await sender.send_round()).retrying == 2
    sender.mail = working
    inbox.messages.clear()
    clock.advance(retry_delay(2))

    assert (await sender.send_round()).sent == 2

    assert len(inbox.to("fine@example.com")) == 1
    rows = await _reminders(papp)
    assert {r.state for r in rows.values()} == {ReminderState.sent}
    assert {r.attempts for r in rows.values()} == {2}
