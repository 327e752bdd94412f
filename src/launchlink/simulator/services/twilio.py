"""An imitation of Twilio's Programmable Messaging, enough to test the SMS channel for real:

* ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (HTTP basic auth with the
  account SID and auth token; form fields ``To``, ``From`` or ``MessagingServiceSid``,
  ``Body``, ``StatusCallback``) answers ``201`` with the Message resource (``sid``
  ``SM…``, ``status: queued``), or Twilio's error JSON (``code``, ``message``,
  ``more_info``, ``status``): ``20003`` bad credentials (401), ``21211`` invalid ``To``,
  ``21610`` a recipient who texted STOP to that sender, ``21604`` no body (400),
  ``20429`` over the account's rate (429, ``Retry-After``);
* ``GET …/Messages/{MessageSid}.json`` reads one back;
* ``GET …/Messages.json`` lists them, most recent first, as Twilio's list resource does:
  filters ``To``, ``From``, ``DateSent`` (``YYYY-MM-DD``; ``DateSent<`` on or before,
  ``DateSent>`` on or after that UTC date), paging by ``PageSize`` (default 50, at most
  1000), ``Page`` and ``PageToken``; the answer carries ``messages``, ``page``,
  ``page_size``, ``start``, ``end``, ``uri``, ``first_page_uri``, ``next_page_uri`` (null
  on the last page) and ``previous_page_uri``. A message is "sent" (``date_sent``) as soon
  as it is accepted here: the simulator has no carrier queue;
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
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

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
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    sequence: int = 0

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
            "date_sent": self.created_at,
            "date_updated": self.created_at,
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
        created = self.clock.now()
        message = SimSms(
            sid=sid,
            account_sid=account_sid,
            to=to,
            from_=sender,
            body=body,
            status="queued",
            status_callback=form.get("StatusCallback"),
            error_code=None,
            created_at=created.strftime("%a, %d %b %Y %H:%M:%S +0000"),
            created=created,
            sequence=len(self.messages),
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
                    f"/{API_VERSION}/Accounts/{{account}}/Messages.json",
                    self._list,
                    methods=["GET"],
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

    def listing(self, account_sid: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Twilio's Messages list: filtered, most recent first, one page."""
        try:
            size = int(query.get("PageSize", "50"))
            page = int(query.get("Page", "0"))
        except ValueError:
            return 400, _error(20001, "Invalid PageSize or Page")
        if not 1 <= size <= 1000 or page < 0:
            return 400, _error(20001, "PageSize must be 1 to 1000, Page at least 0")
        days: dict[str, date] = {}
        for key in ("DateSent", "DateSent<", "DateSent>"):
            if key in query:
                try:
                    days[key] = date.fromisoformat(query[key])
                except ValueError:
                    return 400, _error(20001, f"{key} must be YYYY-MM-DD")
        found = [
            m
            for m in self.messages.values()
            if m.account_sid == account_sid
            and query.get("To", m.to) == m.to
            and query.get("From", m.from_) == m.from_
            and _sent_on(m.created.date(), days)
        ]
        found.sort(key=lambda m: (m.created, m.sequence), reverse=True)
        start = page * size
        token = query.get("PageToken")
        if token is not None and token.startswith("PA"):
            # The token names the last message of the previous page: resume after it, so a
            # message created meanwhile does not shift the pages.
            after = next((i for i, m in enumerate(found) if m.sid == token[2:]), None)
            if after is not None:
                start = after + 1
        chunk = found[start : start + size]
        base = f"/{API_VERSION}/Accounts/{account_sid}/Messages.json"
        kept = {k: v for k, v in query.items() if k not in ("Page", "PageToken", "PageSize")}

        def uri(number: int, page_token: str | None = None) -> str:
            params = {**kept, "PageSize": str(size), "Page": str(number)}
            if page_token is not None:
                params["PageToken"] = page_token
            return f"{base}?{urlencode(params)}"

        more = start + size < len(found) and bool(chunk)
        return 200, {
            "messages": [m.resource() for m in chunk],
            "page": page,
            "page_size": size,
            "start": start,
            "end": start + max(0, len(chunk) - 1),
            "uri": uri(page, token),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + chunk[-1].sid) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
        }

    async def _list(self, request: Request) -> Response:
        account = self._authorised(request)
        if account is None:
            return JSONResponse(_error(20003, "Authenticate", status=401), status_code=401)
        status, answer = self.listing(account, dict(request.query_params))
        return JSONResponse(answer, status_code=status)


def _sent_on(day: date, filters: dict[str, date]) -> bool:
    if "DateSent" in filters and day != filters["DateSent"]:
        return False
    if "DateSent<" in filters and day > filters["DateSent<"]:
        return False
    return not ("DateSent>" in filters and day < filters["DateSent>"])


def _error(code: int, message: str, *, status: int = 400) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
