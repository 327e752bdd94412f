"""Typed domain events: emitted inside the unit of work, delivered to subscribers.

An event is a frozen dataclass with a ``type`` string (``presave.done``), a schema
``version``, the aggregate it is about (``("presave", id)``), its ``workspace_id`` (``None``
for instance-wide facts such as a paused service), when it happened (``occurred_at``,
aware, from the injected clock) and a uuid7 ``id``; its other fields are the JSON payload.
Defining a subclass with a ``type`` registers it, so stored rows decode back to the class.

``await emit(session, event)`` writes the event into the transactional outbox in the
caller's transaction: the event exists exactly when the change it reports was committed.
Dispatchers (:mod:`launchlink.outbox.dispatcher`) deliver it to every subscriber at least
once, in order per aggregate (docs/architecture.md, "The road of one event").

Subscribers have a stable ``name``; delivery state is kept per (event, subscriber):

* ``subscribe(PresaveDone, handler, name="analytics.funnel")`` with
  ``async def handler(session, event)``: the handler runs inside the dispatcher's write
  transaction and its writes commit together with the "handled" mark, so its database
  effects happen once even though delivery is at-least-once.
* ``subscribe_effect(PresaveDone, handler, name="messaging.receipt")`` with
  ``async def handler(event)``: for outside effects (email, webhooks). It runs outside any
  transaction, before the mark is written; a crash in between delivers the event again,
  so such a handler must be idempotent by ``event.id`` (e.g. pass it as the provider's
  idempotency key, or record it before sending).
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, cast, overload
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from launchlink.db import after_commit
from launchlink.kit.clock import ensure_aware
from launchlink.kit.ids import uuid7
from launchlink.outbox.repository import ANY_TYPE, OutboxRepository, append_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


ANY = ANY_TYPE
"""Subscribe to every event type (webhooks, audit)."""

_ENVELOPE = {"id", "occurred_at", "workspace_id"}


class UnknownEventType(LookupError):
    """A stored event whose type no loaded module defines (or an unsupported version)."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event; subclasses set ``type``, ``aggregate_type`` and
    ``aggregate_field`` (the field holding the aggregate's id) and add payload fields.

    Events of one aggregate reach each subscriber in order, one after another; an event
    whose order does not matter names its own ``id`` as the aggregate.
    """

    type: ClassVar[str]
    version: ClassVar[int] = 1
    aggregate_type: ClassVar[str]
    aggregate_field: ClassVar[str]

    occurred_at: datetime
    workspace_id: UUID | None
    id: UUID = field(default_factory=uuid7)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            registry.register(cls)

    def __post_init__(self) -> None:
        # Aware datetimes only, payload included: naive ones are refused, never guessed.
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, datetime):
                object.__setattr__(self, item.name, ensure_aware(value))

    @property
    def aggregate(self) -> tuple[str, str]:
        return self.aggregate_type, str(getattr(self, self.aggregate_field))

    def payload(self) -> dict[str, Any]:
        """The JSON payload: every field but the envelope (id, time, workspace)."""
        dumped = registry.adapter(type(self)).dump_python(self, mode="json", exclude=_ENVELOPE)
        return cast(dict[str, Any], dumped)

    @classmethod
    def upcast(cls, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Turn a payload stored at an older ``version`` into the current shape.

        Override when a new version changes fields; the default knows only its own.
        """
        if version != cls.version:
            raise UnknownEventType(f"{cls.type} version {version} (this code knows {cls.version})")
        return payload


E = TypeVar("E", bound=Event)


class EventRegistry:
    """Event type string → class, so outbox rows decode back to typed events."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        self._adapters: dict[type[Event], TypeAdapter[Any]] = {}

    def register(self, cls: type[Event]) -> None:
        existing = self._classes.get(cls.type)
        if existing is not None and existing is not cls:
            raise ValueError(f"event type {cls.type!r} is already {existing.__qualname__}")
        for attribute in ("aggregate_type", "aggregate_field"):
            if not isinstance(getattr(cls, attribute, None), str):
                raise TypeError(f"{cls.__qualname__} must set {attribute}")
        self._classes[cls.type] = cls

    def get(self, event_type: str) -> type[Event]:
        try:
            return self._classes[event_type]
        except KeyError:
            raise UnknownEventType(f"no event class for type {event_type!r}") from None

    def types(self) -> list[str]:
        return sorted(self._classes)

    def adapter(self, cls: type[Event]) -> TypeAdapter[Any]:
        adapter = self._adapters.get(cls)
        if adapter is None:
            adapter = self._adapters[cls] = TypeAdapter(cls)
        return adapter

    def decode(
        self,
        *,
        event_type: str,
        version: int,
        id: UUID,
        occurred_at: datetime,
        workspace_id: UUID | None,
        payload: dict[str, Any],
    ) -> Event:
        cls = self.get(event_type)
        fields = cls.upcast(version, dict(payload))
        envelope = {"id": id, "occurred_at": occurred_at, "workspace_id": workspace_id}
        return cast(Event, self.adapter(cls).validate_python(fields | envelope))


registry = EventRegistry()


# -- emitting ---------------------------------------------------------------------------------


async def emit(session: AsyncSession, event: Event) -> None:
    """Write ``event`` into the outbox in the caller's transaction (no commit).

    Emit *after* the change it reports (e.g. after the ``UPDATE`` of the pre-save): on
    PostgreSQL emitting serialises transactions per aggregate until they commit, so an
    emitter that takes the aggregate's row lock only afterwards could deadlock with one
    that took it first.
    """
    await emit_many(session, (event,))


async def emit_many(session: AsyncSession, events: Iterable[Event]) -> None:
    """:func:`emit` for many events at once (one statement per kind of work)."""
    rows = [_row(event) for event in events]
    if not rows:
        return
    await OutboxRepository(session).append(rows)
    _wake_after_commit(session)


async def emit_many_on(connection: AsyncConnection, events: Iterable[Event]) -> bool:
    """:func:`emit_many` on a connection the caller holds in a transaction (no session):
    the caller commits, then calls :func:`wake_local_dispatchers` when this returned True
    (something was emitted)."""
    rows = [_row(event) for event in events]
    if rows:
        await append_rows(connection, rows)
    return bool(rows)


def _row(event: Event) -> dict[str, Any]:
    cls = type(event)
    if registry.get(cls.type) is not cls:
        raise UnknownEventType(f"{cls.__qualname__} is not the registered {cls.type!r}")
    aggregate_type, aggregate_id = event.aggregate
    if len(aggregate_id) > 100:
        raise ValueError(f"{cls.type}: aggregate id longer than 100 characters")
    return {
        "id": event.id,
        "type": cls.type,
        "version": cls.version,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "workspace_id": event.workspace_id,
        "occurred_at": event.occurred_at,
        "payload": event.payload(),
    }


class Wakeable(Protocol):
    def wake(self) -> None: ...

    @property
    def bind(self) -> Engine: ...


_local_dispatchers: weakref.WeakSet[Wakeable] = weakref.WeakSet()


def listen_locally(dispatcher: Wakeable) -> None:
    """Wake ``dispatcher`` after every commit that emitted on its engine in this process
    (the in-process fast path; polling and NOTIFY stay the safety net)."""
    _local_dispatchers.add(dispatcher)


def stop_listening_locally(dispatcher: Wakeable) -> None:
    _local_dispatchers.discard(dispatcher)


def wake_local_dispatchers(engine: Engine) -> None:
    """Wake this process's dispatchers on ``engine`` (after a commit that emitted)."""
    for dispatcher in list(_local_dispatchers):
        if dispatcher.bind is engine:
            dispatcher.wake()


def _wake_after_commit(session: AsyncSession) -> None:
    transaction = session.get_transaction()
    if session.info.get("outbox_wake") is transaction:
        return  # this transaction already wakes the dispatchers
    session.info["outbox_wake"] = transaction
    bind: Engine | Connection = session.get_bind()
    engine = bind.engine  # an Engine's .engine is itself

    async def wake() -> None:
        wake_local_dispatchers(engine)

    after_commit(session, wake)


# -- subscribing ------------------------------------------------------------------------------

SessionHandler = Callable[[AsyncSession, E], Awaitable[None]]
EffectHandler = Callable[[E], Awaitable[None]]


@dataclass
class Subscriber:
    """One named consumer; ``effect`` ones run outside the transaction (see module doc)."""

    name: str
    effect: bool
    handlers: dict[str, Callable[..., Awaitable[None]]] = field(default_factory=dict)

    def handler_for(self, event_type: str) -> Callable[..., Awaitable[None]]:
        return self.handlers.get(event_type) or self.handlers[ANY]


class Subscriptions:
    """Named subscribers and what they handle; dispatchers deliver to one of these."""

    def __init__(self) -> None:
        self._subscribers: dict[str, Subscriber] = {}

    @overload
    def subscribe(self, event: type[E], handler: SessionHandler[E], *, name: str) -> None: ...
    @overload
    def subscribe(self, event: str, handler: SessionHandler[Event], *, name: str) -> None: ...
    def subscribe(
        self, event: type[Event] | str, handler: Callable[..., Awaitable[None]], *, name: str
    ) -> None:
        """``handler(session, event)`` runs in the transaction that marks it handled."""
        self._add(event, handler, name=name, effect=False)

    @overload
    def subscribe_effect(self, event: type[E], handler: EffectHandler[E], *, name: str) -> None: ...
    @overload
    def subscribe_effect(self, event: str, handler: EffectHandler[Event], *, name: str) -> None: ...
    def subscribe_effect(
        self, event: type[Event] | str, handler: Callable[..., Awaitable[None]], *, name: str
    ) -> None:
        """``handler(event)`` does outside work; it must be idempotent by ``event.id``."""
        self._add(event, handler, name=name, effect=True)

    def _add(
        self,
        event: type[Event] | str,
        handler: Callable[..., Awaitable[None]],
        *,
        name: str,
        effect: bool,
    ) -> None:
        event_type = event if isinstance(event, str) else event.type
        if event_type != ANY:
            registry.get(event_type)  # an unknown type is a typo: fail at start-up
        if not name or len(name) > 100:
            raise ValueError("a subscriber needs a stable name of 1 to 100 characters")
        subscriber = self._subscribers.setdefault(name, Subscriber(name=name, effect=effect))
        if subscriber.effect != effect:
            raise ValueError(f"subscriber {name!r} cannot mix session and effect handlers")
        if event_type in subscriber.handlers:
            raise ValueError(f"subscriber {name!r} already handles {event_type!r}")
        subscriber.handlers[event_type] = handler

    def subscribers(self) -> list[Subscriber]:
        return list(self._subscribers.values())


subscriptions = Subscriptions()
"""The process's subscribers (the bootstrap registers them at start-up)."""
subscribe = subscriptions.subscribe
subscribe_effect = subscriptions.subscribe_effect


# -- the catalogue of events ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PresaveEventBase(Event):
    """Something happened to one pre-save (the aggregate)."""

    aggregate_type = "presave"
    aggregate_field = "presave_id"
    presave_id: UUID
    link_id: UUID
    release_id: UUID
    fan_id: UUID
    service: str


class PresaveSubject(Protocol):
    """What a pre-save event names besides its id: a ``Presave`` row, a fulfilment job."""

    @property
    def workspace_id(self) -> UUID: ...
    @property
    def link_id(self) -> UUID: ...
    @property
    def release_id(self) -> UUID: ...
    @property
    def fan_id(self) -> UUID: ...
    @property
    def service(self) -> str: ...


def about_presave(
    presave_id: UUID, subject: PresaveSubject, *, occurred_at: datetime
) -> dict[str, Any]:
    """The fields every :class:`PresaveEventBase` takes, from the pre-save they are about:
    ``PresaveDone(**about_presave(job.presave_id, job, occurred_at=now), reason=...)``."""
    return {
        "occurred_at": occurred_at,
        "workspace_id": subject.workspace_id,
        "presave_id": presave_id,
        "link_id": subject.link_id,
        "release_id": subject.release_id,
        "fan_id": subject.fan_id,
        "service": subject.service,
    }


@dataclass(frozen=True, kw_only=True)
class PresaveCreated(PresaveEventBase):
    """A fan agreed to a pre-save (the grant, if any, is stored)."""

    type = "presave.created"
    mode: str
    due_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class PresaveOutcome(PresaveEventBase):
    """The final state of one pre-save, as fulfilment reports it."""

    reason: str | None = None
    outcome: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class PresaveDone(PresaveOutcome):
    type = "presave.done"


@dataclass(frozen=True, kw_only=True)
class PresavePartial(PresaveOutcome):
    type = "presave.partial"


@dataclass(frozen=True, kw_only=True)
class PresaveNeedsReauth(PresaveOutcome):
    type = "presave.needs_reauth"


@dataclass(frozen=True, kw_only=True)
class PresaveFailed(PresaveOutcome):
    type = "presave.failed"


@dataclass(frozen=True, kw_only=True)
class PresaveCancelled(PresaveOutcome):
    type = "presave.cancelled"


@dataclass(frozen=True, kw_only=True)
class PresaveRevoked(PresaveEventBase):
    """The fan withdrew the pre-save (or the service access behind it)."""

    type = "presave.revoked"
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PresaveReceiptDue(Event):
    """A fan with a proven address made (or confirmed) pre-saves on a link: they are owed
    the receipt listing them, with the revoke link. Read at delivery: an address erased
    meanwhile gets nothing."""

    type = "presave.receipt_due"
    aggregate_type = "fan"
    aggregate_field = "fan_id"
    fan_id: UUID
    link_id: UUID
    language: str


@dataclass(frozen=True, kw_only=True)
class ContactConfirmationRequested(Event):
    """Someone typed an address: its owner must confirm it (double opt-in) before anything
    takes effect. ``sealed_token`` is the confirmation link's token encrypted with the
    instance's token cipher (only its hash is stored elsewhere); the address itself is read
    from the pending contact at delivery."""

    type = "contact.confirmation_requested"
    aggregate_type = "contact"
    aggregate_field = "contact_id"
    contact_id: UUID
    link_id: UUID
    language: str
    sealed_token: str


@dataclass(frozen=True, kw_only=True)
class MagicLinkRequested(Event):
    """A fan asked for a link to finish their pre-save elsewhere (e.g. out of an in-app
    browser); ``sealed_token`` as in :class:`ContactConfirmationRequested`."""

    type = "magic_link.requested"
    aggregate_type = "magic_link"
    aggregate_field = "magic_link_id"
    magic_link_id: UUID
    link_id: UUID
    language: str
    sealed_token: str


@dataclass(frozen=True, kw_only=True)
class InvitationIssued(Event):
    """Someone was invited into a workspace of the dashboard: the invitee is owed the email
    with the link. ``sealed_token`` is the link's signed token encrypted with the token
    cipher; the invitation is read at delivery (withdrawn, used or expired: no email)."""

    type = "invitation.issued"
    aggregate_type = "invitation"
    aggregate_field = "invitation_id"
    invitation_id: UUID
    sealed_token: str


@dataclass(frozen=True, kw_only=True)
class PasswordResetRequested(Event):
    """An account's owner asked for a password reset link (instance-wide: no workspace).
    ``sealed_token`` as in :class:`InvitationIssued`; the token is checked again at delivery
    (a password changed meanwhile voids it, and then no email goes out)."""

    type = "password_reset.requested"
    aggregate_type = "user"
    aggregate_field = "user_id"
    user_id: UUID
    sealed_token: str


@dataclass(frozen=True, kw_only=True)
class WebhookDue(Event):
    """One event owed to one webhook endpoint (the endpoint is the aggregate: each endpoint
    is its own ordered stream, so a failing or slow one never holds up or re-sends to the
    others). ``occurred_at`` is the source event's; ``source_id`` its id, the idempotency
    key the receiver sees."""

    type = "webhook.due"
    aggregate_type = "webhook_endpoint"
    aggregate_field = "endpoint_id"
    endpoint_id: UUID
    source_id: UUID
    source_type: str
    data: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ReleaseLive(Event):
    """A release is out: on one service (``service``) or at its release instant (None)."""

    type = "release.live"
    aggregate_type = "release"
    aggregate_field = "release_id"
    release_id: UUID
    service: str | None = None
    territory: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReleaseMoved(Event):
    """The release instant or date changed; what depends on it must be re-planned."""

    type = "release.moved"
    aggregate_type = "release"
    aggregate_field = "release_id"
    release_id: UUID
    release_mode: str
    time_zone: str
    release_instant: datetime | None = None
    release_date: date | None = None
    previous_release_instant: datetime | None = None
    previous_release_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class LinkChanged(Event):
    """A link, its destinations or its release changed (its public page did)."""

    type = "link.changed"
    aggregate_type = "link"
    aggregate_field = "link_id"
    link_id: UUID
    link_version: int | None = None
    """The link's ``version`` after the change."""


@dataclass(frozen=True, kw_only=True)
class LinkClicked(Event):
    """People (robots and prefetches excluded) went through a link to their services.

    One event per link per stored analytics batch, with counts per service, not one per
    click: a click is captured off the request path and stored in batches by analytics,
    and this event is emitted in the transaction that stores the batch. An outbox row per
    click would be a durable write per redirect on the busiest path."""

    type = "link.clicked"
    aggregate_type = "link"
    aggregate_field = "link_id"
    link_id: UUID
    clicks: dict[str, int]
    """Service → clicks in this batch."""
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, kw_only=True)
class FulfilmentCompleted(Event):
    """Every pre-save of a release on a service reached a final state."""

    type = "fulfilment.completed"
    aggregate_type = "release"
    aggregate_field = "release_id"
    release_id: UUID
    service: str
    counts: dict[str, int] = field(default_factory=dict)
    """Final state → number of pre-saves."""


@dataclass(frozen=True, kw_only=True)
class FulfilmentServicePaused(Event):
    """A service asked us to wait (a huge Retry-After): every worker paused it."""

    type = "fulfilment.service_paused"
    aggregate_type = "service"
    aggregate_field = "service"
    service: str
    reason: str | None = None
    until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class MessageEvent(Event):
    """Something happened to one message to a fan (email, SMS)."""

    aggregate_type = "message"
    aggregate_field = "message_id"
    message_id: UUID
    fan_id: UUID | None
    channel: str
    kind: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessageQueued(MessageEvent):
    type = "message.queued"


@dataclass(frozen=True, kw_only=True)
class MessageSent(MessageEvent):
    type = "message.sent"


@dataclass(frozen=True, kw_only=True)
class MessageFailed(MessageEvent):
    type = "message.failed"


__all__ = [
    "ANY",
    "ContactConfirmationRequested",
    "Event",
    "EventRegistry",
    "FulfilmentCompleted",
    "FulfilmentServicePaused",
    "InvitationIssued",
    "LinkChanged",
    "LinkClicked",
    "MagicLinkRequested",
    "MessageFailed",
    "MessageQueued",
    "MessageSent",
    "PasswordResetRequested",
    "PresaveCancelled",
    "PresaveCreated",
    "PresaveDone",
    "PresaveEventBase",
    "PresaveFailed",
    "PresaveNeedsReauth",
    "PresaveOutcome",
    "PresavePartial",
    "PresaveReceiptDue",
    "PresaveRevoked",
    "ReleaseLive",
    "ReleaseMoved",
    "Subscriber",
    "Subscriptions",
    "UnknownEventType",
    "about_presave",
    "emit",
    "emit_many",
    "listen_locally",
    "registry",
    "stop_listening_locally",
    "subscribe",
    "subscribe_effect",
    "subscriptions",
]
