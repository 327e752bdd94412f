"""No reminder blocks the outbox: a release-day message that cannot be built fails at
once with the reason, a mail outage is retried with backoff a bounded number of times,
and the rest of the batch always goes on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.mail.settings import MailSettings
from launchlink.messaging.channels.email import SmtpChannel
from launchlink.messaging.delivery import Delivery
from launchlink.models import Fan, Message, Presave
from launchlink.models.messaging import MessageChannel, MessageKind, MessageState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    Inbox,
    _free_port,
    browser_for,
    deliver_messages,
    make_presave_link,
    sign_up_for_reminder,
)


async def _sign_up(papp: Application, inbox: Inbox, email: str, country: str) -> None:
    async with browser_for(papp, **{"CF-IPCountry": country}) as browser:
        await sign_up_for_reminder(browser, inbox, email)


async def _release_day(papp: Application) -> dict[str, Message]:
    async with papp.context.database.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Message, Fan.email)
                .join(Fan, Fan.id == Message.fan_id)
                .where(
                    Message.channel == MessageChannel.email,
                    Message.kind == MessageKind.release_day,
                )
            )
        ).all()
    return {str(email): message for message, email in rows}


async def _two_fans_due(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> Delivery:
    await make_presave_link(admin, label, campaign={"service_modes": {"deezer": "reminder"}})
    await _sign_up(papp, inbox, "poisoned@example.com", "JP")
    await _sign_up(papp, inbox, "fine@example.com", "GB")
    async with papp.context.database.sessionmaker() as session:
        latest = max((await session.execute(select(Presave.due_at))).scalars())
    # Each fan's countdown went out the day before (it is not these tests' subject).
    clock.set(latest - timedelta(hours=23))
    assert (await deliver_messages(papp)).sent == 2
    clock.set(latest)
    assert papp.messaging is not None
    return papp.messaging.delivery


async def _poison(papp: Application, email: str) -> None:
    # A row written by an older version or an import: a kind the channel has no wording for.
    async with papp.context.database.transaction() as session:
        fan_id = (await session.execute(select(Fan.id).where(Fan.email == email))).scalar_one()
        await session.execute(
            update(Message)
            .where(Message.fan_id == fan_id, Message.kind == MessageKind.release_day)
            .values(kind=MessageKind.sms_opt_in)
        )


def _unreachable(delivery: Delivery, clock: FrozenClock) -> SmtpChannel:
    """Point the email channel at a port where no mail server listens; the working one."""
    channels = dict(delivery.channels)
    working = channels[MessageChannel.email]
    channels[MessageChannel.email] = SmtpChannel(
        MailSettings(host="127.0.0.1", port=_free_port(), security="none", timeout_seconds=2),
        signer=None,
        clock=clock,
    )
    delivery.channels = channels
    assert isinstance(working, SmtpChannel)
    return working


def _restore(delivery: Delivery, working: SmtpChannel) -> None:
    delivery.channels = {**delivery.channels, MessageChannel.email: working}


async def test_a_message_that_cannot_be_built_fails_at_once_and_the_batch_goes_on(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    delivery = await _two_fans_due(papp, admin, label, inbox, clock)
    await _poison(papp, "poisoned@example.com")
    inbox.messages.clear()

    round_ = await delivery.run_round(MessageChannel.email)

    assert (round_.claimed, round_.sent, round_.failed, round_.retrying) == (2, 1, 1, 0)
    assert len(inbox.to("fine@example.com")) == 1
    assert inbox.to("poisoned@example.com") == []
    async with papp.context.database.sessionmaker() as session:
        failed = (
            await session.execute(select(Message).where(Message.kind == MessageKind.sms_opt_in))
        ).scalar_one()
    assert failed.state is MessageState.failed
    assert failed.last_error == "sms_opt_in messages are not sent by email"
    assert (await delivery.run_round(MessageChannel.email)).claimed == 0  # never again


async def test_a_poisoned_reminder_does_not_hold_back_the_next_one(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    delivery = await _two_fans_due(papp, admin, label, inbox, clock)
    await _poison(papp, "poisoned@example.com")
    inbox.messages.clear()
    delivery.settings = delivery.settings.model_copy(update={"batch": 1})

    # One message a round (both are due at the release's one global instant, in either
    # order): the poisoned one fails in its round and the other goes out in its own.
    rounds = [await delivery.run_round(MessageChannel.email) for _ in range(2)]

    assert sorted((r.claimed, r.sent, r.failed) for r in rounds) == [(1, 0, 1), (1, 1, 0)]
    assert len(inbox.to("fine@example.com")) == 1


async def test_a_mail_outage_is_retried_with_backoff_then_given_up(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    delivery = await _two_fans_due(papp, admin, label, inbox, clock)
    working = _unreachable(delivery, clock)
    attempts = delivery.settings.max_attempts
    seen: list[tuple[int, int]] = []
    for _ in range(attempts):
        round_ = await delivery.run_round(MessageChannel.email)
        seen.append((round_.retrying, round_.failed))
        assert (await delivery.run_round(MessageChannel.email)).claimed == 0  # not hammering
        clock.advance(timedelta(seconds=delivery.settings.retry_cap_seconds))

    assert seen == [(2, 0)] * (attempts - 1) + [(0, 2)]
    for message in (await _release_day(papp)).values():
        assert message.state is MessageState.failed
        assert message.attempts == attempts
        assert message.last_error is not None
        assert message.last_error.startswith(f"gave up after {attempts} attempts")
    _restore(delivery, working)
    assert (await delivery.run_round(MessageChannel.email)).claimed == 0


async def test_a_reminder_that_recovers_within_its_attempts_goes_out_once(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox, clock: FrozenClock
) -> None:
    delivery = await _two_fans_due(papp, admin, label, inbox, clock)
    working = _unreachable(delivery, clock)
    assert (await delivery.run_round(MessageChannel.email)).retrying == 2
    clock.advance(timedelta(seconds=delivery.settings.retry_cap_seconds))
    assert (await delivery.run_round(MessageChannel.email)).retrying == 2
    _restore(delivery, working)
    inbox.messages.clear()
    clock.advance(timedelta(seconds=delivery.settings.retry_cap_seconds))

    assert (await delivery.run_round(MessageChannel.email)).sent == 2

    assert len(inbox.to("fine@example.com")) == 1
    rows = await _release_day(papp)
    assert {m.state for m in rows.values()} == {MessageState.sent}
    assert {m.attempts for m in rows.values()} == {2}
