"""``POST /messaging/email/feedback``: bounces and complaints fed in by the operator's
bounce mailbox or MTA (``feedback.py``).

Mounted only when ``messaging.feedback_token`` is set; a request without that token as
``Authorization: Bearer …`` is refused (403) before its body is read as a fact, so nobody
else can mark a fan's address dead or unsubscribe them. The body is the raw message
(RFC 3464 report, RFC 5965 report), any content type.
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from launchlink.db import Database
from launchlink.kit.clock import Clock
from launchlink.messaging.channels.settings import MessagingSettings
from launchlink.messaging.feedback import record_feedback

logger = logging.getLogger(__name__)

FEEDBACK_PATH = "/messaging/email/feedback"
MAX_REPORT_BYTES = 1_000_000


class EmailFeedback:
    def __init__(
        self, *, database: Database, clock: Clock, settings: MessagingSettings, token: str
    ) -> None:
        self.database = database
        self.clock = clock
        self.settings = settings
        self.token = token

    def routes(self) -> list[BaseRoute]:
        return [Route(FEEDBACK_PATH, self.feedback, methods=["POST"])]

    async def feedback(self, request: Request) -> Response:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            logger.warning("refused an email feedback report without the feedback token")
            return Response("feedback token required", status_code=403, media_type="text/plain")
        raw = await request.body()
        if not raw.strip():
            return Response("the body is the report, as received", status_code=400)
        if len(raw) > MAX_REPORT_BYTES:
            return Response("report too large", status_code=413)
        async with self.database.transaction(write_lock=True) as session:
            result = await record_feedback(
                session, raw, settings=self.settings, now=self.clock.now()
            )
        if result.kind == "unknown":
            return JSONResponse(
                {
                    "error": {
                        "code": "not_a_report",
                        "message": "neither a DSN nor a feedback report",
                    }
                },
                status_code=422,
            )
        return JSONResponse(
            {
                "kind": result.kind,
                "matched": result.matched,
                "unmatched": result.unmatched[:20],
                "paused_workspaces": [str(w) for w in result.paused],
            }
        )
