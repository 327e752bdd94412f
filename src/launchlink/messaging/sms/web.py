"""The provider's requests to us: status callbacks and inbound texts (``/messaging/sms/…``).

Both are refused (403) unless ``X-Twilio-Signature`` matches the auth token over *our*
public URL of the endpoint and the posted form: an unsigned or forged callback cannot mark
a message delivered, and a forged "STOP" cannot unsubscribe a fan. The answer to an inbound
text is TwiML (``<Response><Message>…</Message></Response>``) or an empty ``<Response/>``.
"""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from launchlink.db import Database
from launchlink.errors import LaunchlinkError
from launchlink.kit.clock import Clock
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.pauses import check_pauses
from launchlink.messaging.repository import MessagingRepository
from launchlink.messaging.sms.callbacks import handle_inbound, record_status
from launchlink.messaging.sms.signature import valid_signature
from launchlink.web.forms import read_form

logger = logging.getLogger(__name__)

STATUS_PATH = "/messaging/sms/status"
INBOUND_PATH = "/messaging/sms/inbound"


class SmsWebhooks:
    def __init__(
        self, *, database: Database, clock: Clock, auth_token: str, public_url: str,
        provider: str = "twilio", settings: MessagingSettings | None = None,
    ) -> None:  # fmt: skip
        self.database = database
        self.clock = clock
        self.auth_token = auth_token
        self.public_url = public_url.rstrip("/")
        self.provider = provider
        self.settings = settings

    def routes(self) -> list[BaseRoute]:
        return [
            Route(STATUS_PATH, self.status, methods=["POST"]),
            Route(INBOUND_PATH, self.inbound, methods=["POST"]),
        ]

    async def _signed_form(self, request: Request) -> dict[str, str] | None:
        try:
            fields = await read_form(request)
        except LaunchlinkError:
            return None
        url = self.public_url + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        if not valid_signature(
            self.auth_token, url, fields.items(), request.headers.get("x-twilio-signature")
        ):
            logger.warning("refused an SMS webhook with a bad signature on %s", request.url.path)
            return None
        return fields

    async def status(self, request: Request) -> Response:
        fields = await self._signed_form(request)
        if fields is None:
            return Response("signature mismatch", status_code=403, media_type="text/plain")
        sid = fields.get("MessageSid", "")
        status = fields.get("MessageStatus", "")
        if not sid or not status:
            return Response("MessageSid and MessageStatus are required", status_code=400)
        code = fields.get("ErrorCode", "")
        async with self.database.transaction(write_lock=True) as session:
            workspace_id = await record_status(
                session,
                provider=self.provider,
                provider_message_id=sid[:200],
                status=status,
                error_code=int(code) if code.isdigit() else None,
                now=self.clock.now(),
            )
            if workspace_id is not None and self.settings is not None:
                # A carrier's refusal (blocked, unknown number) counts towards the pause.
                await check_pauses(
                    MessagingRepository(session), [workspace_id], self.settings, self.clock.now()
                )
        return Response(status_code=204)

    async def inbound(self, request: Request) -> Response:
        fields = await self._signed_form(request)
        if fields is None:
            return Response("signature mismatch", status_code=403, media_type="text/plain")
        number, body = fields.get("From", ""), fields.get("Body", "")
        if not number:
            return Response("From is required", status_code=400)
        async with self.database.transaction(write_lock=True) as session:
            reply = await handle_inbound(
                session, from_number=number[:20], body=body[:1600], now=self.clock.now()
            )
        twiml = (
            f"<Response><Message>{escape(reply.text)}</Message></Response>"
            if reply.text
            else "<Response/>"
        )
        return Response(
            '<?xml version="1.0" encoding="UTF-8"?>' + twiml, media_type="application/xml"
        )
