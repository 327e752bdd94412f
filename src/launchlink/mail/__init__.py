"""Sending email: one port (:class:`MailSender`), one SMTP adapter, settings.

Only :mod:`launchlink.messaging` sends, as an outbox subscriber: the email answers an
event committed with the change, so a rolled-back request never emails anybody and a
process that dies after its commit loses no email.
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
