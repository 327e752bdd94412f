"""The development outbox: mail without an SMTP server, kept where it can be followed.

When ``LAUNCHLINK_ENVIRONMENT=development`` (the default of a local run and the demo) and no
SMTP host is set, every message is written to ``<var_dir>/outbox/`` (one JSON file per
message, 0600, at most :data:`KEEP` kept) and its subject, recipient and links are printed
to the console. ``/_dev/mail`` lists the messages and shows each with its links
clickable, so every "we sent you a link" of a demo can be followed.

Files rather than a table: the worker process sends reminders too, files need no
migration, and ``rm -r var/outbox`` empties it. The page answers only in development and
only to a browser on this machine (a loopback client with no proxy in between): messages
hold sign-in links.
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
import secrets
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from launchlink.kit import files
from launchlink.kit.clock import Clock, SystemClock
from launchlink.mail.port import OutgoingEmail

KEEP = 200
DEV_MAIL_PATH = "/_dev/mail"
_ID = re.compile(r"[0-9]{8}T[0-9]{12}Z-[0-9a-f]{8}")
_URL = re.compile(r"https?://[^\s<>\"']+")
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


@dataclass(frozen=True)
class StoredEmail:
    id: str
    created_at: str
    to: str
    subject: str
    text: str
    html: str | None
    headers: dict[str, str] = field(default_factory=dict)
    tag: str = ""

    @property
    def links(self) -> list[str]:
        return _URL.findall(self.text)


def _console(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # the console is the point here


class OutboxMailSender:
    """The mail port's development adapter: store the message, print where it went."""

    def __init__(
        self,
        directory: Path,
        *,
        clock: Clock | None = None,
        echo: Callable[[str], None] = _console,
        page_url: str | None = None,
    ) -> None:
        self.directory = directory
        self.clock = clock or SystemClock()
        self.echo = echo
        self.page_url = page_url

    async def send(self, message: OutgoingEmail) -> None:
        now: datetime = self.clock.now()
        stored = StoredEmail(
            id=f"{now.strftime('%Y%m%dT%H%M%S%f')}Z-{secrets.token_hex(4)}",
            created_at=now.isoformat(),
            to=message.to,
            subject=message.subject,
            text=message.text,
            html=message.html,
            headers=dict(message.headers),
            tag=message.tag,
        )
        files.replace(self.directory / f"{stored.id}.json", json.dumps(asdict(stored)))
        self._prune()
        where = f" (see {self.page_url})" if self.page_url else ""
        self.echo(
            f"[dev outbox] {message.tag or 'email'} to {message.to}: {message.subject}{where}"
        )
        for link in stored.links:
            self.echo(f"[dev outbox]   {link}")

    def _prune(self) -> None:
        for old in sorted(self.directory.glob("*.json"))[:-KEEP]:
            old.unlink(missing_ok=True)


class Outbox:
    """Reads the stored messages, newest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self) -> list[StoredEmail]:
        found = (
            sorted(self.directory.glob("*.json"), reverse=True) if self.directory.is_dir() else []
        )
        return [message for path in found if (message := self._load(path)) is not None]

    def get(self, message_id: str) -> StoredEmail | None:
        if not _ID.fullmatch(message_id):
            return None
        return self._load(self.directory / f"{message_id}.json")

    @staticmethod
    def _load(path: Path) -> StoredEmail | None:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return StoredEmail(**data)
        except (OSError, ValueError, TypeError):
            return None


def _linkified(text: str) -> str:
    parts, last = [], 0
    for match in _URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        parts.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def _page(title: str, body: str) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}"
        "pre{white-space:pre-wrap;background:#f4f4f5;padding:1rem;border-radius:.5rem}"
        "td,th{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #ddd}"
        "iframe{width:100%;height:30rem;border:1px solid #ddd}.note{color:#666}"
        f"</style></head><body>{body}</body></html>"
    )
    return HTMLResponse(
        document,
        headers={
            "content-security-policy": _CSP,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
    )


def _from_this_machine(request: Request) -> bool:
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    client = request.client
    try:
        return client is not None and ipaddress.ip_address(client.host).is_loopback
    except ValueError:
        return False


def _not_found() -> Response:
    return Response("not found", status_code=404, media_type="text/plain")


class OutboxPages:
    """``/_dev/mail`` and ``/_dev/mail/{id}``."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def routes(self) -> list[BaseRoute]:
        return [
            Route(DEV_MAIL_PATH, self.index, methods=["GET", "HEAD"]),
            Route(DEV_MAIL_PATH + "/{message_id}", self.message, methods=["GET", "HEAD"]),
        ]

    async def index(self, request: Request) -> Response:
        if not _from_this_machine(request):
            return _not_found()
        rows = "".join(
            f"<tr><td>{html.escape(m.created_at[:19].replace('T', ' '))}</td>"
            f"<td>{html.escape(m.to)}</td>"
            f'<td><a href="{DEV_MAIL_PATH}/{m.id}">{html.escape(m.subject) or "(no subject)"}'
            f"</a></td><td>{html.escape(m.tag)}</td></tr>"
            for m in self.outbox.messages()
        )
        table = (
            f"<table><tr><th>sent</th><th>to</th><th>subject</th><th>kind</th></tr>{rows}</table>"
            if rows
            else '<p class="note">No email yet. Messages appear here as they are sent.</p>'
        )
        return _page(
            "Dev outbox",
            "<h1>Dev outbox</h1><p class=note>Emails this instance would have sent (no SMTP "
            f"server is configured). Newest first, the last {KEEP} kept.</p>{table}",
        )

    async def message(self, request: Request) -> Response:
        if not _from_this_machine(request):
            return _not_found()
        found = self.outbox.get(request.path_params["message_id"])
        if found is None:
            return _not_found()
        html_part = (
            "<h2>HTML version</h2>"
            f'<iframe sandbox="" srcdoc="{html.escape(found.html, quote=True)}"></iframe>'
            if found.html
            else ""
        )
        return _page(
            found.subject or "(no subject)",
            f'<p><a href="{DEV_MAIL_PATH}">← all messages</a></p>'
            f"<h1>{html.escape(found.subject) or '(no subject)'}</h1>"
            f"<p>To: {html.escape(found.to)}<br>Sent: {html.escape(found.created_at)}</p>"
            f"<pre>{_linkified(found.text)}</pre>{html_part}",
        )
