"""The dashboard's emails travel the outbox: emitted in the unit of work, sent after commit by
messaging's subscribers, never when the transaction rolls back, read again at delivery."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from launchlink.accounts import people
from launchlink.app import Application
from launchlink.errors import NotFound
from launchlink.models import OutboxEvent
from launchlink.models.accounts import Role, WorkspaceKind
from tests.dashboard.conftest import PASSWORD, BrowserFactory, Inbox, link_in


class Refused(Exception):
    """Something later in the same unit of work failed."""


async def _events(app: Application, event_type: str) -> list[OutboxEvent]:
    async with app.context.database.sessionmaker() as session:
        result = await session.execute(select(OutboxEvent).where(OutboxEvent.type == event_type))
        return list(result.scalars())


async def _owner(app: Application) -> people.Actor:
    async with app.context.database.transaction(write_lock=True) as session:
        user, workspace = await people.sign_up(
            session,
            email="ada@example.com",
            name="Ada",
            password=PASSWORD,
            workspace_name="Ada Music",
            kind=WorkspaceKind.artist,
            open_sign_up=True,
            clock=app.context.clock,
        )
        return people.Actor(
            user_id=user.id, email=user.email, role=Role.owner, workspace_id=workspace.id
        )


async def _invite(
    app: Application, actor: people.Actor, email: str, *, then_fail: bool = False
) -> None:
    kit = app.context.require_presave()
    async with app.context.database.transaction(write_lock=True) as session:
        await people.invite(
            session,
            actor,
            email=email,
            role=Role.editor,
            signer=kit.signer,
            cipher=kit.cipher,
            clock=app.context.clock,
        )
        if then_fail:
            raise Refused


async def _request_reset(app: Application, email: str, *, then_fail: bool = False) -> None:
    kit = app.context.require_presave()
    async with app.context.database.transaction(write_lock=True) as session:
        await people.request_password_reset(
            session, email=email, signer=kit.signer, cipher=kit.cipher, clock=app.context.clock
        )
        if then_fail:
            raise Refused


async def _deliver(app: Application) -> None:
    assert app.context.outbox is not None
    await app.context.outbox.drain()


async def test_an_invitation_is_an_outbox_event_whose_email_carries_its_id(
    dapp: Application, browsers: BrowserFactory, inbox: Inbox
) -> None:
    owner = await browsers()
    workspace_id = await owner.sign_up(email="ada@example.com")
    await owner.get(f"/dashboard/w/{workspace_id}/members")
    response = await owner.post(
        f"/dashboard/w/{workspace_id}/members/invite", {"email": "bo@example.com", "role": "editor"}
    )
    assert response.status_code == 303
    [event] = await _events(dapp, "invitation.issued")
    [email] = inbox.to("bo@example.com")
    assert email["Message-ID"].startswith(f"<{event.id}@")
    assert "ada@example.com invites you to join Ada Music as editor" in Inbox.text_of(email)
    # The stored event holds the link's token sealed, never readable as it is.
    token = link_in(inbox, "bo@example.com", "/dashboard/invite/").rsplit("/", 1)[1]
    assert token not in str(event.payload)
    # Delivered once: another tick sends nothing more.
    await _deliver(dapp)
    assert len(inbox.to("bo@example.com")) == 1


async def test_a_rolled_back_invitation_sends_nothing(dapp: Application, inbox: Inbox) -> None:
    actor = await _owner(dapp)
    with pytest.raises(Refused):
        await _invite(dapp, actor, "bo@example.com", then_fail=True)
    await _deliver(dapp)
    assert await _events(dapp, "invitation.issued") == []
    assert inbox.to("bo@example.com") == []


async def test_a_rolled_back_reset_request_sends_nothing(dapp: Application, inbox: Inbox) -> None:
    await _owner(dapp)
    with pytest.raises(Refused):
        await _request_reset(dapp, "ada@example.com", then_fail=True)
    await _deliver(dapp)
    assert await _events(dapp, "password_reset.requested") == []
    assert inbox.to("ada@example.com") == []


async def test_an_invitation_withdrawn_before_delivery_gets_no_email(
    dapp: Application, inbox: Inbox
) -> None:
    actor = await _owner(dapp)
    await _invite(dapp, actor, "bo@example.com")
    async with dapp.context.database.transaction(write_lock=True) as session:
        [invitation] = await people.open_invitations(
            session, actor.workspace_id, dapp.context.clock
        )
        await people.withdraw_invitation(
            session, actor, invitation_id=invitation.id, clock=dapp.context.clock
        )
    await _deliver(dapp)
    assert len(await _events(dapp, "invitation.issued")) == 1
    assert inbox.to("bo@example.com") == []


async def test_another_workspace_cannot_withdraw_the_invitation_so_its_email_goes_out(
    dapp: Application, inbox: Inbox
) -> None:
    actor = await _owner(dapp)
    await _invite(dapp, actor, "bo@example.com")
    clock = dapp.context.clock
    async with dapp.context.database.transaction(write_lock=True) as session:
        [invitation] = await people.open_invitations(session, actor.workspace_id, clock)
        stranger_user, stranger_workspace = await people.sign_up(
            session,
            email="eve@example.com",
            name="Eve",
            password=PASSWORD,
            workspace_name="Eve Records",
            kind=WorkspaceKind.label,
            open_sign_up=True,
            clock=clock,
        )
        stranger = people.Actor(
            user_id=stranger_user.id,
            email=stranger_user.email,
            role=Role.owner,
            workspace_id=stranger_workspace.id,
        )
        with pytest.raises(NotFound):
            await people.withdraw_invitation(
                session, stranger, invitation_id=invitation.id, clock=clock
            )
    await _deliver(dapp)
    assert len(inbox.to("bo@example.com")) == 1


async def test_a_reset_link_voided_by_a_password_change_before_delivery_is_not_sent(
    dapp: Application, inbox: Inbox
) -> None:
    await _owner(dapp)
    kit = dapp.context.require_presave()
    clock = dapp.context.clock
    await _request_reset(dapp, "ada@example.com")
    async with dapp.context.database.transaction(write_lock=True) as session:
        user = await people.authenticate(session, email="ada@example.com", password=PASSWORD)
        await people.change_password(
            session, user=user, current=PASSWORD, new="another long password", clock=clock
        )
    await _deliver(dapp)
    assert inbox.to("ada@example.com") == []
    # A new request after the change is sent, with a link that works.
    await _request_reset(dapp, "ada@example.com")
    await _deliver(dapp)
    [email] = inbox.to("ada@example.com")
    token = link_in(inbox, "ada@example.com", "/dashboard/reset/").rsplit("/", 1)[1]
    async with dapp.context.database.sessionmaker() as session:
        found = await people.user_for_reset(session, token, signer=kit.signer, clock=clock)
    assert found.email == "ada@example.com"
    assert email["Subject"] == "Reset your launchlink password"
