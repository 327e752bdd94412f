"""Building fans' pre-save emails: the opt-in, the receipt and the magic link.

Pure building from what was read (a link snapshot, the fan's pre-saves, a token): no
database, no sending. Templates are ``templates/presave/email_*.txt``, rendered in the
fan's language by the pre-save pages' Jinja environment, so a page and the email about it
say things the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from launchlink.kit.clock import Clock
from launchlink.links.snapshot import LinkSnapshot
from launchlink.mail import OutgoingEmail
from launchlink.models import Presave
from launchlink.presave import service as presave_service
from launchlink.presave.page import PresavePages
from launchlink.presave.service import PresaveKit


class Emails:
    def __init__(self, *, pages: PresavePages, kit: PresaveKit, public_url: str) -> None:
        self.pages = pages
        self.kit = kit
        self.public_url = public_url.rstrip("/")

    @property
    def clock(self) -> Clock:
        return self.kit.clock

    def _unsubscribe_headers(self, fan_id: UUID, link_id: UUID) -> dict[str, str]:
        return presave_service.unsubscribe_headers(self.kit, self.public_url, fan_id, link_id)

    def _revoke_link(self, fan_id: UUID, link_id: UUID) -> str:
        return f"{self.public_url}/revoke/{presave_service.revoke_token(self.kit, fan_id, link_id)}"

    def contact_confirmation(
        self,
        snapshot: LinkSnapshot,
        *,
        to: str,
        token: str,
        reminder: bool,
        language: str,
        key: str,
    ) -> OutgoingEmail:
        """The double opt-in email: the only message a typed address gets before its owner
        confirms it. Nothing in it names or reveals another fan."""
        _ = self.pages.translations.get(language).gettext
        context = self.pages.release_context(snapshot, language)
        context.update(link=f"{self.public_url}/presave/confirm/{token}", reminder=reminder)
        subject = (
            _("Confirm your reminder for %(title)s")
            if reminder
            else _("Confirm your email address for %(title)s")
        ) % {"title": snapshot.release_title}
        return OutgoingEmail(
            to=to,
            subject=subject,
            text=self.pages.render_text("presave/email_opt_in.txt", language, context),
            tag="contact_confirmation",
            idempotency_key=key,
        )

    def receipt(
        self,
        snapshot: LinkSnapshot,
        *,
        to: str,
        fan_id: UUID,
        presaves: Sequence[Presave],
        language: str,
        key: str,
    ) -> OutgoingEmail:
        """What the fan pre-saved on the link, when it happens, and how to take it back."""
        _ = self.pages.translations.get(language).gettext
        context = self.pages.release_context(snapshot, language)
        context.update(
            items=[self.pages.describe(p, language) for p in presaves],
            moment=self.pages.moment_text(snapshot, list(presaves), language, self.clock.now()),
            revoke_link=self._revoke_link(fan_id, snapshot.link_id),
        )
        return OutgoingEmail(
            to=to,
            subject=_("Your pre-save of %(title)s") % {"title": snapshot.release_title},
            text=self.pages.render_text("presave/email_confirmation.txt", language, context),
            headers=self._unsubscribe_headers(fan_id, snapshot.link_id),
            tag="presave_confirmation",
            idempotency_key=key,
        )

    def magic_link(
        self, snapshot: LinkSnapshot, *, to: str, token: str, language: str, key: str
    ) -> OutgoingEmail:
        _ = self.pages.translations.get(language).gettext
        context = self.pages.release_context(snapshot, language)
        context["link"] = f"{self.public_url}/presave/magic/{token}"
        return OutgoingEmail(
            to=to,
            subject=_("Finish your pre-save of %(title)s") % {"title": snapshot.release_title},
            text=self.pages.render_text("presave/email_magic_link.txt", language, context),
            tag="magic_link",
            idempotency_key=key,
        )
