"""The SMS channel over Twilio's Messages resource (or anything that speaks it, such as
the simulator): ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with To, From (or
MessagingServiceSid), Body and StatusCallback, HTTP basic auth with the account's SID
and auth token.

Answers are classified by Twilio's error *codes* (``21211`` invalid number...), and the
HTTP status for the rest: 429 and 5xx are transient (``Retry-After`` honoured), other 4xx
permanent. The message SID Twilio returns is the provider message id the delivery ledger
is reconciled by when the signed status callbacks arrive (:mod:`.callbacks`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from launchlink.messaging.channels.base import (
    Accepted,
    BounceKind,
    Envelope,
    PermanentFailure,
    TransientFailure,
)
from launchlink.messaging.channels.settings import TwilioSettings

# Twilio error codes (https://www.twilio.com/docs/api/errors) → what they say about the fan.
ERROR_BOUNCES: dict[int, BounceKind] = {
    21211: "hard",  # invalid 'To' number
    21614: "hard",  # 'To' is not a mobile number
    21610: "hard",  # the recipient replied STOP to this sender
    21408: "other",  # sending to this region is not enabled
    30003: "soft",  # unreachable handset
    30004: "blocked",  # message blocked
    30005: "hard",  # unknown destination handset
    30006: "hard",  # landline or unreachable carrier
    30007: "blocked",  # carrier filtered it (spam)
    30008: "soft",  # unknown error
}
TRANSIENT_CODES = frozenset({20429, 30001, 30003, 30008, 30017})


def classify_error(code: int | None) -> tuple[bool, BounceKind]:
    """(permanent?, bounce class) of a Twilio error code."""
    if code is None or code in TRANSIENT_CODES:
        return False, "soft"
    return True, ERROR_BOUNCES.get(code, "other")


class TwilioChannel:
    name = "sms"
    provider = "twilio"

    def __init__(
        self, settings: TwilioSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.account_sid or settings.auth_token is None:
            raise ValueError("TwilioChannel needs an account SID and an auth token")
        self.settings = settings
        self._client = httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/"),
            auth=(settings.account_sid, settings.auth_token.get_secret_value()),
            timeout=settings.timeout_seconds,
            transport=transport,
            headers={"User-Agent": "launchlink-messaging"},
        )

    @property
    def auth_token(self) -> str:
        assert self.settings.auth_token is not None
        return self.settings.auth_token.get_secret_value()

    async def send(self, envelope: Envelope) -> Accepted:
        form: dict[str, str] = {"To": envelope.to, "Body": envelope.text}
        sender = envelope.sender.sms_from or self.settings.from_number
        if self.settings.messaging_service_sid and not envelope.sender.sms_from:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        elif sender:
            form["From"] = sender
        else:
            raise PermanentFailure("no SMS sender number is configured", bounce="other")
        if envelope.status_callback:
            form["StatusCallback"] = envelope.status_callback
        path = f"/2010-04-01/Accounts/{self.settings.account_sid}/Messages.json"
        try:
            response = await self._client.post(path, data=form)
        except httpx.HTTPError as error:
            raise TransientFailure(f"Twilio unreachable: {type(error).__name__}") from None
        body = _json(response)
        if response.status_code in (200, 201) and isinstance(body.get("sid"), str):
            return Accepted(
                provider=self.provider,
                provider_message_id=body["sid"],
                status=str(body.get("status") or "queued"),
            )
        code = body.get("code") if isinstance(body.get("code"), int) else None
        summary = f"Twilio {response.status_code} {code or ''} {str(body.get('message', ''))[:200]}"
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = _seconds(response.headers.get("retry-after"))
            raise TransientFailure(
                summary.strip(),
                retry_after=retry_after,
                rate_limited=response.status_code == 429 or code == 20429,
            )
        permanent, bounce = classify_error(code)
        if not permanent:
            raise TransientFailure(summary.strip())
        raise PermanentFailure(summary.strip(), code=str(code) if code else None, bounce=bounce)

    async def accepted_since(self, envelope: Envelope, since: datetime) -> list[Accepted]:
        """Twilio's Messages list (``GET …/Messages.json``), filtered by ``To``, ``From``
        (when we send from a number) and ``DateSent>`` the day of ``since``, paged by
        ``next_page_uri``; the outbound messages with this exact body created at or after
        ``since``, newest first. Paging stops at the first message older than ``since``
        (the list is most recent first)."""
        sender = envelope.sender.sms_from or self.settings.from_number
        using_service = bool(self.settings.messaging_service_sid and not envelope.sender.sms_from)
        params: dict[str, str] = {
            "To": envelope.to,
            "DateSent>": since.astimezone(UTC).date().isoformat(),
            "PageSize": str(LOOKUP_PAGE_SIZE),
        }
        if sender and not using_service:
            params["From"] = sender
        path: str | None = f"/2010-04-01/Accounts/{self.settings.account_sid}/Messages.json"
        found: list[Accepted] = []
        for _ in range(LOOKUP_MAX_PAGES):
            if path is None:
                break
            try:
                response = await self._client.get(path, params=params)
            except httpx.HTTPError as error:
                raise TransientFailure(f"Twilio unreachable: {type(error).__name__}") from None
            body = _json(response)
            if response.status_code != 200 or not isinstance(body.get("messages"), list):
                raise TransientFailure(f"Twilio {response.status_code} listing messages")
            older = False
            for item in body["messages"]:
                if not isinstance(item, dict):
                    continue
                created = _rfc2822(item.get("date_created"))
                if created is not None and created < since:
                    older = True
                    continue
                if (
                    item.get("body") == envelope.text
                    and str(item.get("direction", "")).startswith("outbound")
                    and item.get("status") != "canceled"
                    and isinstance(item.get("sid"), str)
                ):
                    found.append(
                        Accepted(
                            provider=self.provider,
                            provider_message_id=item["sid"],
                            status=str(item.get("status") or "queued"),
                        )
                    )
            following = body.get("next_page_uri")
            # next_page_uri carries every filter and the page token itself.
            path, params = (
                (following, {}) if isinstance(following, str) and not older else (None, {})
            )
        else:
            raise TransientFailure("Twilio's message list is longer than we page through")
        return found

    async def close(self) -> None:
        await self._client.aclose()


LOOKUP_PAGE_SIZE = 100
LOOKUP_MAX_PAGES = 50


def _rfc2822(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
