"""Sending email: one port (:class:`MailSender`), one SMTP adapter, settings.

Callers build an :class:`OutgoingEmail` and hand it to the sender *after commit*
(``launchlink.db.after_commit``), so a rolled-back request never emails anybody.
"""

from launchlink.mail.port import MailSender, MailSendError, MessageRefused, OutgoingEmail
from launchlink.mail.settings import MailSettings
from launchlink.mail.smtp import LoggingMailSender, SmtpMailSender, mail_sender_from

__all__ = [
    "LoggingMailSender",
    "MailSendError",
    "MailSender",
    "MailSettings",
    "MessageRefused",
    "OutgoingEmail",
    "SmtpMailSender",
    "mail_sender_from",
]
