"""An imitation of Twilio's Programmable Messaging, enough to test the SMS channel for real:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (HTTP basic auth with the
  account SID and auth token; form fields ``To``, ``From`` or ``MessagingServiceSid``,
  ``Body``, ``StatusCallback``) answers ``201`` with the Message resource (``sid``
  ``SM…``, ``status: queued``), or Twilio's error JSON (``code``, ``message``,
  ``more_info``, ``status``): ``20003`` bad credentials (401), ``21211`` invalid ``To``,
  ``21610`` a recipient who texted STOP to that sender, ``21604`` no body (400),
  ``20429`` over the account's rate (429, ``Retry-After``);
* ``GET …/Messages/{MessageSid}.json`` reads one back;
* **status callbacks**: each accepted message queues ``sent`` then ``delivered`` — or
  ``undelivered`` with an ``ErrorCode`` for numbers set up with a carrier failure
  (``carrier_failures``) — as form posts to its ``StatusCallback``, signed with
  ``X-Twilio-Signature`` by the account's auth token; :meth:`TwilioSim.deliver` posts them;
* **inbound messages** (:meth:`TwilioSim.inbound`): a fan's reply posted, signed, to the
  number's webhook. STOP-like words also block the sender for that fan, as Twilio's
  Advanced Opt-Out does (later sends are ``21610``), START lifts it.

The rate is a sliding one-second window on the real clock, like the other services'.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from launchlink.kit.clock import Clock, SystemClock
from launchlink.messaging.sms.keywords import Intent, keyword_of
from launchlink.messaging.sms.signature import twilio_signature

DEMO_ACCOUNT_SID = "AC" + "5" * 32
DEMO_AUTH_TOKEN = "sim-twilio-auth-token-0123456789"  # noqa: S105 - the simulator's own
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
API_VERSION = "2010-04-01"


@dataclass
class SimSms:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str
    status_callback: str | None
    error_code: int | None
    created_at: str
    direction: str = "outbound-api"

    def resource(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": self.status,
            "direction": self.direction,
            "num_segments": str(max(1, -(-len(self.body) // 153))),
            "error_code": self.error_code,
            "date_created": self.created_at,
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class TwilioSim:
    """The simulated account(s), their messages, and the callbacks waiting to be posted."""

    clock: Clock = field(default_factory=SystemClock)
    accounts: dict[str, str] = field(default_factory=lambda: {DEMO_ACCOUNT_SID: DEMO_AUTH_TOKEN})
    rate_per_second: float | None = None
    """Messages accepted per second per account (None: no limit)."""
    carrier_failures: dict[str, int] = field(default_factory=dict)
    """Number → the error code its delivery fails with (30003 unreachable, 30006 landline)."""
    inbound_url: str | None = None
    messages: dict[str, SimSms] = field(default_factory=dict)
    blocked: set[tuple[str, str]] = field(default_factory=set)
    """(sender, recipient) pairs the recipient stopped."""
    pending: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(account, URL, form) callbacks not yet posted."""
    accepted_at: list[float] = field(default_factory=list)
    """Real-clock instants of accepted messages (the benchmark reads the rate off them)."""
    rejected: int = 0
    """Requests refused with 429 for the rate."""
    _window: deque[float] = field(default_factory=deque)

    def _over_rate(self) -> bool:
        if self.rate_per_second is None:
            return False
        now = time.monotonic()
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.rate_per_second:
            self.rejected += 1
            return True
        self._window.append(now)
        return False

    def create(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid") or ""
        if not sender:
            return 400, _error(21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not _E164.fullmatch(to):
            return 400, _error(21211, f"The 'To' number {to[:20]} is not a valid phone number.")
        if not body:
            return 400, _error(21602, "Message body is required.")
        if (sender, to) in self.blocked:
            return 400, _error(21610, "Attempt to send to unsubscribed recipient")
        if self._over_rate():
            return 429, _error(20429, "Too Many Requests", status=429)
        sid = "SM" + secrets.token_hex(16)
        message = SimSms(
            sid=sid,
            account_sid=account_sid,
            to=to,
            from_=sender,
            body=body,
            status="queued",
            status_callback=form.get("StatusCallback"),
            error_code=None,
            created_at=self.clock.now().strftime("%a, %d %b %Y %H:%M:%S +0000"),
        )
        self.messages[sid] = message
        self.accepted_at.append(time.monotonic())
        if message.status_callback:
            failure = self.carrier_failures.get(to)
            self._callback(message, "sent")
            self._callback(message, "undelivered" if failure else "delivered", failure)
        return 201, message.resource()

    def _callback(self, message: SimSms, status: str, error: int | None = None) -> None:
        assert message.status_callback is not None
        form = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error is not None:
            form["ErrorCode"] = str(error)
        self.pending.append((message.account_sid, message.status_callback, form))

    def inbound(
        self, *, from_: str, to: str, body: str, account_sid: str = DEMO_ACCOUNT_SID
    ) -> str:
        """A fan texts ``body`` from ``from_`` to our number ``to``; queued for posting."""
        keyword = keyword_of(body)
        if keyword is Intent.opt_out:
            self.blocked.add((to, from_))
        elif keyword is Intent.opt_in:
            self.blocked.discard((to, from_))
        if self.inbound_url is None:
            raise ValueError("no inbound webhook is configured for the number")
        sid = "SM" + secrets.token_hex(16)
        form = {
            "AccountSid": account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "To": to,
        }
        self.pending.append((account_sid, self.inbound_url, form))
        return sid

    async def deliver(self, client: httpx.AsyncClient) -> list[httpx.Response]:
        """Post every waiting callback, signed, in order; returns the answers."""
        answers = []
        while self.pending:
            account_sid, url, form = self.pending.pop(0)
            token = self.accounts[account_sid]
            signature = twilio_signature(token, url, form.items())
            answers.append(
                await client.post(url, data=form, headers={"X-Twilio-Signature": signature})
            )
            sid = form.get("MessageSid", "")
            if sid in self.messages and "MessageStatus" in form:
                self.messages[sid].status = form["MessageStatus"]
                if "ErrorCode" in form:
                    self.messages[sid].error_code = int(form["ErrorCode"])
        return answers

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    f"/{API_VERSION}/Accounts/{{account}}/Messages.json",
                    self._create,
                    methods=["POST"],
                ),
                Route(
                    f"/{API_VERSION}/Accounts/{{account}}/Messages/{{sid}}.json",
                    self._read,
                    methods=["GET"],
                ),
            ]
        )

    def _authorised(self, request: Request) -> str | None:
        account = str(request.path_params["account"])
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        token = self.accounts.get(account)
        if user != account or token is None or not secrets.compare_digest(password, token):
            return None
        return account

    async def _create(self, request: Request) -> Response:
        account = self._authorised(request)
        if account is None:
            return JSONResponse(_error(20003, "Authenticate", status=401), status_code=401)
        raw = (await request.body())[:65536].decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True, max_num_fields=50))
        status, answer = self.create(account, form)
        headers = {"Retry-After": "1"} if status == 429 else None
        return JSONResponse(answer, status_code=status, headers=headers)

    async def _read(self, request: Request) -> Response:
        account = self._authorised(request)
        if account is None:
            return JSONResponse(_error(20003, "Authenticate", status=401), status_code=401)
        message = self.messages.get(str(request.path_params["sid"]))
        if message is None or message.account_sid != account:
            return JSONResponse(_error(20404, "not found", status=404), status_code=404)
        return JSONResponse(message.resource())


def _error(code: int, message: str, *, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
