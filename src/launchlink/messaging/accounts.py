"""The dashboard's emails: invitations and password resets, as outbox subscribers.

``accounts.people`` emits ``invitation.issued`` and ``password_reset.requested`` in the
unit of work that makes the change; these handlers answer them after commit (effect
handlers, at least once: the event id is the message's idempotency key). What an email
says is read at delivery: an invitation withdrawn, used or expired meanwhile, or a reset
link voided by a password change, gets no email.
"""

from __future__ import annotations

from dataclasses import dataclass

from launchlink.accounts import people
from launchlink.accounts.errors import TokenRefused
from launchlink.db import Database
from launchlink.events import InvitationIssued, PasswordResetRequested
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.mail import MailSender, OutgoingEmail
from launchlink.web.security import Signer


@dataclass(frozen=True)
class AccountEmails:
    """Building the two messages (no database, no sending)."""

    base_url: str
    """Where links in emails point (the instance's public URL, no trailing slash)."""

    def invitation(
        self, *, to: str, inviter: str, workspace: str, role: str, token: str, key: str
    ) -> OutgoingEmail:
        link = f"{self.base_url}/dashboard/invite/{token}"
        return OutgoingEmail(
            to=to,
            subject=f"You are invited to {workspace} on launchlink",
            text=(
                f"{inviter} invites you to join {workspace} as {role}.\n\n"
                f"Accept the invitation (valid for 7 days):\n{link}\n\n"
                "If you did not expect this, ignore this email."
            ),
            tag="dashboard_invitation",
            idempotency_key=key,
        )

    def password_reset(self, *, to: str, token: str, key: str) -> OutgoingEmail:
        return OutgoingEmail(
            to=to,
            subject="Reset your launchlink password",
            text=(
                "Someone (hopefully you) asked to reset the password of this launchlink "
                "account.\n\n"
                f"Choose a new password (the link works once, for one hour):\n"
                f"{self.base_url}/dashboard/reset/{token}\n\n"
                "If it was not you, ignore this email: your password stays as it is."
            ),
            tag="dashboard_password_reset",
            idempotency_key=key,
        )


class AccountMessenger:
    """Answers the dashboard's account events with their email (``subscribers.py``)."""

    def __init__(
        self,
        *,
        database: Database,
        emails: AccountEmails,
        mail: MailSender,
        signer: Signer,
        cipher: TokenCipher,
        clock: Clock,
    ) -> None:
        self.database = database
        self.emails = emails
        self.mail = mail
        self.signer = signer
        self.cipher = cipher
        self.clock = clock

    async def invitation(self, event: InvitationIssued) -> None:
        token = self.cipher.decrypt(event.sealed_token.encode("ascii"))
        async with self.database.sessionmaker() as session:
            try:
                invitation, workspace = await people.open_invitation(
                    session, token, signer=self.signer, clock=self.clock
                )
            except TokenRefused:
                return  # withdrawn, used or expired before it could be sent
            inviter_id = invitation.invited_by_id
            inviter = await people.get_user(session, inviter_id) if inviter_id else None
            message = self.emails.invitation(
                to=invitation.email,
                inviter=inviter.email if inviter is not None else "Someone",
                workspace=workspace.name,
                role=invitation.role.value,
                token=token,
                key=str(event.id),
            )
        await self.mail.send(message)

    async def password_reset(self, event: PasswordResetRequested) -> None:
        token = self.cipher.decrypt(event.sealed_token.encode("ascii"))
        async with self.database.sessionmaker() as session:
            try:
                user = await people.user_for_reset(
                    session, token, signer=self.signer, clock=self.clock
                )
            except TokenRefused:
                return  # the password changed, or the link expired, before it was sent
            to = user.email
        await self.mail.send(self.emails.password_reset(to=to, token=token, key=str(event.id)))
