"""The delivery worker of a process: a thin task around :class:`Delivery`.

Run by ``launchlink serve`` (embedded) and by every ``launchlink worker``
(``fulfilment/tasks.py``): claims are leased and fenced, so any number of workers can run
at once. :func:`delivery_for` builds the process's :class:`Delivery` from its context —
the channels that are configured, the shared rate limiter, the instance's sender and the
pre-save's signed unsubscribe links — and :class:`DeliveryWorker` runs it until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from email.utils import parseaddr

from launchlink.context import AppContext
from launchlink.fulfilment.limiter import RateLimiter
from launchlink.messaging.channels.base import Channel, SenderIdentity
from launchlink.messaging.channels.registry import channels_from
from launchlink.messaging.delivery import Delivery
from launchlink.messaging.email_web import EmailFeedback
from launchlink.messaging.sms.web import SmsWebhooks
from launchlink.models.messaging import MessageChannel
from launchlink.presave.service import signed_unsubscribe_headers

logger = logging.getLogger(__name__)

IDLE_SECONDS = 1.0


def default_sender(context: AppContext) -> SenderIdentity:
    """The instance's sender; a workspace's identity is laid over it at send time."""
    settings = context.settings
    name, address = parseaddr(settings.resolved_mail.from_address)
    domain = settings.messaging.dkim_domain
    if domain and address.rpartition("@")[2] != domain:
        # The operator's key signs only its own domain: the From must be there too.
        address = f"{address.partition('@')[0] or 'news'}@{domain}"
    return SenderIdentity(
        email_address=address or "no-reply@localhost",
        email_name=name,
        sms_from=settings.messaging.twilio.from_number,
    )


def delivery_for(
    context: AppContext,
    *,
    channels: dict[MessageChannel, Channel] | None = None,
    limiter: RateLimiter | None = None,
) -> Delivery:
    """The process's delivery on its context (no web piece needed)."""
    from launchlink.fulfilment.service import make_limiter

    settings = context.settings
    signer = context.require_presave().signer
    public_url = settings.public_url
    return Delivery(
        database=context.database,
        clock=context.clock,
        channels=channels
        if channels is not None
        else channels_from(settings, mail=context.mail, clock=context.clock),
        settings=settings.messaging,
        public_url=public_url,
        default_sender=default_sender(context),
        unsubscribe=lambda fan_id, link_id: signed_unsubscribe_headers(
            signer, public_url, fan_id, link_id
        ),
        limiter=limiter or make_limiter(settings, context.database),
    )


def sms_webhooks_for(context: AppContext) -> SmsWebhooks | None:
    """The SMS provider's signed callbacks and inbound texts, when SMS is configured."""
    twilio = context.settings.messaging.twilio
    if context.settings.messaging.sms_provider == "off" or twilio.auth_token is None:
        return None
    return SmsWebhooks(
        database=context.database,
        clock=context.clock,
        auth_token=twilio.auth_token.get_secret_value(),
        public_url=context.settings.public_url,
        settings=context.settings.messaging,
    )


def email_feedback_for(context: AppContext) -> EmailFeedback | None:
    """The bounce and complaint intake, when its token is configured."""
    token = context.settings.messaging.feedback_token
    if token is None:
        return None
    return EmailFeedback(
        database=context.database,
        clock=context.clock,
        settings=context.settings.messaging,
        token=token.get_secret_value(),
    )


class DeliveryWorker:
    """Runs :meth:`Delivery.run` in the background; ``stop`` lets the round in hand settle
    (its leases would otherwise have to run out) and closes the channels."""

    def __init__(self, delivery: Delivery, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.delivery = delivery
        self.idle_seconds = idle_seconds
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if not self.delivery.channels:
            logger.warning("messaging: no channel is configured; messages stay queued")
        self._stop.clear()
        self._task = asyncio.create_task(
            self.delivery.run(self._stop, idle_seconds=self.idle_seconds), name="messaging"
        )

    async def stop(self, *, grace_seconds: float = 10.0) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), grace_seconds)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.close()

    async def close(self) -> None:
        for channel in self.delivery.channels.values():
            with contextlib.suppress(Exception):
                await channel.close()
        await self.delivery.limiter.aclose()


def delivery_worker(context: AppContext) -> DeliveryWorker:
    return DeliveryWorker(delivery_for(context))
