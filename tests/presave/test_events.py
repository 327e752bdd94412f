"""What the pre-save flows tell the rest of the system: the events an outbox subscriber gets."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.app import Application
from launchlink.events import (
    ANY,
    ContactConfirmationRequested,
    Event,
    LinkChanged,
    PresaveCreated,
    PresaveReceiptDue,
    Subscriptions,
)
from launchlink.outbox.dispatcher import OutboxDispatcher
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import Inbox, make_presave_link, sign_up_for_reminder


class Listener:
    """A subscriber of every event, registered before anything happens."""

    def __init__(self, papp: Application) -> None:
        self.seen: list[Event] = []
        subscriptions = Subscriptions()

        async def collect(_session: AsyncSession, event: Event) -> None:
            self.seen.append(event)

        subscriptions.subscribe(ANY, collect, name="tests.listener")
        self.dispatcher = OutboxDispatcher(papp.context.database, papp.context.clock, subscriptions)

    async def events(self) -> list[Event]:
        await self.dispatcher.drain()
        return self.seen

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.seen if isinstance(e, kind)]


async def test_a_confirmed_reminder_sign_up_is_told_as_events(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    listener = Listener(papp)
    await listener.events()  # registered from now on

    created = await make_presave_link(
        admin, label, campaign={"service_modes": {"deezer": "reminder"}}
    )
    await sign_up_for_reminder(fan, inbox, "fan@example.com")
    await listener.events()

    link_id = created["link"]["id"]
    [requested] = listener.of(ContactConfirmationRequested)
    assert str(requested.link_id) == link_id
    assert "fan@example.com" not in str(requested.payload())  # the address stays in its row
    [presave] = listener.of(PresaveCreated)
    assert (presave.mode, presave.service, str(presave.link_id)) == ("reminder", "deezer", link_id)
    assert presave.workspace_id == requested.workspace_id
    [receipt] = listener.of(PresaveReceiptDue)
    assert receipt.fan_id == presave.fan_id
    changes = listener.of(LinkChanged)
    assert changes
    assert {str(c.link_id) for c in changes} == {link_id}
    versions = [c.link_version for c in changes]
    assert versions == sorted(versions)  # in order, one per change of the page
