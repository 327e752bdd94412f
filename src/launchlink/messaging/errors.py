"""The messaging domain's failures; each carries its HTTP status (see launchlink.errors)."""

from __future__ import annotations

from launchlink.errors import Conflict, NotFound, ValidationFailed


class TemplateRejected(ValidationFailed):
    """A template that does not parse, reads an unknown variable, or is for a kind the
    channel does not send."""

    code = "invalid_template"


class TemplateExists(Conflict):
    """The workspace has a template for this kind, channel and language already."""

    code = "template_exists"


class TemplateNotFound(NotFound):
    """No template with that id in this workspace (another's is "not found" too)."""


class MessageNotFound(NotFound):
    """No message with that id in this workspace."""


class QuietHoursRejected(ValidationFailed):
    """A window that is empty, outside the day, or wider than the instance allows."""

    code = "invalid_quiet_hours"


class QuietHoursRuleNotFound(NotFound):
    """The workspace has no rule of its own for that channel and place."""


class AnnouncementRejected(ValidationFailed):
    """An announcement without text, with no channel, or planned in the past."""

    code = "invalid_announcement"


class SenderRejected(ValidationFailed):
    """A sender identity the channels cannot use (a local part that is not one, ...)."""

    code = "invalid_sender"
