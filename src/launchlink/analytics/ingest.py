"""Captured request facts → enriched event rows (CPU only: no I/O, runs in a thread).

The headers are read here, not on the request path: user agent, referrer, the prefetch
headers and the pre-save browser cookie. The visitor's address (behind trusted proxies,
the forwarded one) is used for the country and the day's visitor hash and then
forgotten: no row, log line or exception carries it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit
from uuid import UUID

from launchlink.analytics.capture import Captured
from launchlink.analytics.enrich import (
    CLASSIFIER_VERSION,
    Dropped,
    Enriched,
    Enricher,
    EventDraft,
    default_steps,
)
from launchlink.analytics.visitors import SALT_LIFETIME, visitor_hash
from launchlink.kit.useragent import MAX_USER_AGENT_LENGTH

BROWSER_COOKIE = b"ll_b="  # presave.security.BROWSER_COOKIE: a pre-saver's browser


class Countries(Protocol):
    """``launchlink.kit.geo.CountryDetector``."""

    @property
    def trusted_header(self) -> str | None: ...

    def country(self, headers: Any, client_ip: str | None) -> str | None: ...

    def visitor_address(self, headers: Any, client_ip: str | None) -> str | None: ...


class BrowserHasher(Protocol):
    """``launchlink.web.security.Signer``: the pre-save browser cookie's hash."""

    def browser_id_of(self, cookie_value: str | None) -> str | None: ...

    def browser_hash(self, browser_id: str) -> str: ...


@dataclass
class BatchSalts:
    """The salts of the days a batch needs, read beforehand (a ``SaltStore``)."""

    salts: Mapping[date, str]
    now: datetime

    def salt_for(self, at: datetime) -> str | None:
        day = at.astimezone(UTC).date()
        if datetime(day.year, day.month, day.day, tzinfo=UTC) + SALT_LIFETIME <= self.now:
            return None
        return self.salts.get(day)


@dataclass
class IngestResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    returns: dict[tuple[UUID, str], tuple[UUID, datetime]] = field(default_factory=dict)
    dropped: int = 0


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


# A request's shape (models.analytics.AnalyticsShape): the raw fields the classifier reads,
# as stored (cut), and the labels it derived from them.
RAW_FIELDS = ("user_agent", "referrer", "query", "accept", "sec_purpose", "purpose", "method")
LABEL_FIELDS = (
    "bot_class", "bot_reason", "device_class", "os", "browser", "in_app", "source",
    "referrer_host", "channel", "utm_source", "utm_medium", "utm_campaign",
)  # fmt: skip
SHAPE_FIELDS = ("classifier_version", *LABEL_FIELDS, *RAW_FIELDS)
# The shape of the facts no request carried (fulfilment outcomes, messages sent).
FACT_DIGEST = "fact"


def shape_digest(raw: tuple[str | None, ...]) -> str:
    """The stored shape's key: a digest of its raw fields (:data:`RAW_FIELDS`, as stored).

    Migration 0026 computes the same digest for the rows it moves (kept in step by
    tests/analytics/test_shapes.py).
    """
    return hashlib.blake2b(repr(tuple(raw)).encode(), digest_size=16).hexdigest()


def event_row(
    event: Enriched,
    *,
    service: str | None = None,
    phase: str | None = None,
    automatic: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    raw = event.raw
    row: dict[str, Any] = {
        "ts": event.ts,
        "workspace_id": event.workspace_id,
        "link_id": event.link_id,
        "kind": event.kind,
        "service": _cut(service, 32),
        "phase": phase,
        "automatic": automatic,
        "reason": _cut(reason, 64),
        "bot_class": event.bot_class,
        "bot_reason": _cut(event.bot_reason, 200),
        "device_class": event.device_class,
        "os": _cut(event.os, 32),
        "browser": _cut(event.browser, 64),
        "in_app": _cut(event.in_app, 32),
        "country": event.country,
        "source": event.source,
        "referrer_host": _cut(event.referrer_host, 253),
        "channel": event.channel,
        "utm_source": event.utm_source,
        "utm_medium": event.utm_medium,
        "utm_campaign": event.utm_campaign,
        "visitor_hash": event.visitor_hash,
        "classifier_version": event.classifier_version,
        "user_agent": _cut(raw.user_agent, MAX_USER_AGENT_LENGTH),
        "referrer": _cut(raw.referrer, 300),
        "query": _cut(raw.query, 700),
        "accept": _cut(raw.accept, 200),
        "sec_purpose": _cut(raw.sec_purpose, 64),
        "purpose": _cut(raw.purpose, 64),
        "method": (raw.method or "GET")[:8],
    }
    row["shape"] = shape_digest(tuple(row[name] for name in RAW_FIELDS))
    return row


def fact_row(
    *,
    ts: datetime,
    workspace_id: UUID,
    link_id: UUID | None,
    kind: str,
    service: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A row for a fact no request carried (fulfilment outcomes, messages sent)."""
    return {
        "ts": ts, "workspace_id": workspace_id, "link_id": link_id, "kind": kind,
        "service": _cut(service, 32), "phase": None, "automatic": False,
        "reason": _cut(reason, 64), "bot_class": "human", "bot_reason": None,
        "device_class": "other", "os": None, "browser": None, "in_app": None, "country": None,
        "source": "direct", "referrer_host": None, "channel": None, "utm_source": None,
        "utm_medium": None, "utm_campaign": None, "visitor_hash": None,
        "classifier_version": CLASSIFIER_VERSION, "user_agent": None, "referrer": None,
        "query": None, "accept": None, "sec_purpose": None, "purpose": None, "method": "GET",
        "shape": FACT_DIGEST,
    }  # fmt: skip


def _derived_kind(kind: str, channel: str | None) -> str | None:
    """A page view through a QR code or a message's link is also a scan or a message click.

    The channel code marks them: ``?c=qr`` / ``?c=qr-poster`` on printed codes, and the
    ``email-``/``sms-`` codes every link in our messages carries (``?c=email-release``).
    """
    if kind != "page_view" or not channel:
        return None
    prefix = channel.split("-", 1)[0]
    if prefix == "qr":
        return "qr_scan"
    if prefix in ("email", "sms"):
        return "message_click"
    return None


SHAPE_CACHE_SIZE = 50_000
_SHAPE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
_SHAPE_ID = UUID(int=0)
_DROPPED = object()
_PER_EVENT_STEPS = frozenset({"country", "visitor"})
_PER_EVENT = ("ts", "workspace_id", "link_id", "service", "phase", "automatic", "reason",
              "country", "visitor_hash")  # fmt: skip


# A captured fact once everything that needs the visitor's address or cookie is done
# (:meth:`VisitIngest.anonymise`): no address, no cookie, no other header left. This is
# what a web process hands to the workers (:mod:`launchlink.analytics.shipping`).
# (kind, ts, link_id, workspace_id, service, phase, automatic, reason, method, query,
#  user_agent, referrer, accept, sec_purpose, purpose, browser_hash, country, visitor_hash)
Anonymised = tuple[
    str, datetime, UUID, UUID, str | None, str | None, bool, str | None, str, str | None,
    str | None, str | None, str | None, str | None, str | None, str | None, str | None,
    str | None,
]  # fmt: skip

ADDRESS_CACHE_SIZE = 100_000


class VisitIngest:
    """Turns captured tuples into event rows with the process's enrichment steps.

    Two stages: :meth:`anonymise` (the address and cookie: country, the day's visitor
    hash, the pre-saver's browser hash; needs the geo-IP database, the signer and the
    salts) and :meth:`enrich` (everything else, per shape of request). :meth:`run` does
    both; a web process with workers does the first and ships the result.
    """

    def __init__(
        self,
        *,
        countries: Countries | None,
        signer: BrowserHasher | None = None,
        own_hosts: Iterable[str] = (),
    ) -> None:
        self.countries = countries
        self.signer = signer
        self.own_hosts = tuple(own_hosts)
        self._own = frozenset(host.lower().removeprefix("www.") for host in self.own_hosts)
        # The steps that read neither the address nor the time; country and visitor run
        # in anonymise() (the same rules, see there).
        steps = default_steps(own_hosts=self.own_hosts)
        self._enricher = Enricher([step for step in steps if step.name not in _PER_EVENT_STEPS])
        self._shapes: dict[tuple[Any, ...], Any] = {}
        # Per address: its country and the visitor's own address behind our proxies (a
        # geo-IP lookup costs more than the rest of the event); per (salt, workspace,
        # address, agent): the visitor hash (an HMAC). Cleared when full (cheaper than an
        # LRU); the addresses are in this process's memory anyway, never written.
        self._countries: dict[
            tuple[str | None, bytes | None, bytes | None], tuple[str | None, str | None]
        ] = {}
        header = countries.trusted_header if countries is not None else None
        self._trusted_header = header.encode("latin-1") if header else None
        self._hashes: dict[tuple[str, str, str, str | None], str] = {}

    def days_of(self, batch: Iterable[Captured]) -> set[date]:
        return {item[1].astimezone(UTC).date() for item in batch}

    def run(self, batch: Iterable[Captured], salts: BatchSalts) -> IngestResult:
        anonymised, dropped = self.anonymise(batch, salts)
        result = self.enrich(anonymised)
        result.dropped += dropped
        return result

    def anonymise(
        self, batch: Iterable[Captured], salts: BatchSalts
    ) -> tuple[list[Anonymised], int]:
        """The address- and cookie-dependent work; returns the facts and how many were
        dropped (naive times: the validate step's rule)."""
        out: list[Anonymised] = []
        dropped = 0
        countries = self.countries
        country_cache = self._countries
        hash_cache = self._hashes
        day_start = day_end = _SHAPE_TIME
        day_salt: str | None = None
        workspace_texts: dict[int, str] = {}
        for item in batch:
            kind, ts, link_id, workspace_id, service, phase, automatic, reason = item[:8]
            method, query, headers, peer = item[8:]
            if ts.tzinfo is None:
                dropped += 1
                continue
            user_agent = referrer = accept = sec_purpose = purpose = None
            browser_cookie = forwarded = trusted = None
            for name, value in headers:
                if name == b"user-agent":
                    user_agent = value.decode("latin-1")
                elif name == b"referer":
                    referrer = value.decode("latin-1")
                elif name == b"accept":
                    accept = value.decode("latin-1")
                elif name == b"sec-purpose":
                    sec_purpose = value.decode("latin-1")
                elif name in (b"purpose", b"x-purpose", b"x-moz"):
                    purpose = value.decode("latin-1")
                elif name == b"cookie" and BROWSER_COOKIE in value:
                    browser_cookie = value
                elif name == b"x-forwarded-for":
                    forwarded = value
                elif self._trusted_header is not None and name == self._trusted_header:
                    trusted = value
            if countries is None:
                address, country = peer, None
            else:
                # Everything the detector reads: the peer, the forwarded chain, the header.
                where = (peer, forwarded, trusted)
                known = country_cache.get(where)
                if known is None:
                    if len(country_cache) >= ADDRESS_CACHE_SIZE:
                        country_cache.clear()
                    known = country_cache[where] = (
                        countries.country(headers, peer),
                        countries.visitor_address(headers, peer),
                    )
                country, address = known
            # The visitor step's rule (enrich.visitor_step), without building a draft.
            hashed = None
            if address:
                if not day_start <= ts < day_end:  # a batch is nearly always one day
                    day = ts.astimezone(UTC)
                    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
                    day_end = day_start + timedelta(days=1)
                    day_salt = salts.salt_for(ts)
                salt = day_salt
                if salt:
                    # The workspace by its id's text (a UUID hashes in Python, a str in C),
                    # found by the object's identity: ``out`` keeps it alive meanwhile.
                    workspace = workspace_texts.get(id(workspace_id))
                    if workspace is None:
                        workspace = workspace_texts[id(workspace_id)] = str(workspace_id)
                    key = (salt, workspace, address, user_agent)
                    hashed = hash_cache.get(key)
                    if hashed is None:
                        if len(hash_cache) >= ADDRESS_CACHE_SIZE:
                            hash_cache.clear()
                        hashed = hash_cache[key] = visitor_hash(
                            salt, workspace, address, user_agent
                        )
            browser_hash = None
            if (
                browser_cookie is not None
                and self.signer is not None
                and kind == "page_view"
                and phase == "live"
            ):
                browser_hash = self._browser_hash(browser_cookie)
            out.append(
                (kind, ts, link_id, workspace_id, service, phase, automatic, reason, method,
                 query.decode("latin-1") if query else None, user_agent, referrer, accept,
                 sec_purpose, purpose, browser_hash, country, hashed)
            )  # fmt: skip
        return out, dropped

    def enrich(self, batch: Iterable[Anonymised]) -> IngestResult:
        """Anonymised facts → event rows, rollup-ready (pure CPU, no address, no I/O)."""
        result = IngestResult()
        shapes = self._shapes
        for item in batch:
            kind, ts, link_id, workspace_id, service, phase, automatic, reason = item[:8]
            method, query, user_agent, referrer, accept, sec_purpose, purpose = item[8:15]
            browser_hash, country, hashed = item[15:]
            if referrer is not None and "?" in referrer:
                inherited = self._own_page_query(referrer)
                if inherited is not None:  # the click's own tags first: the first one wins
                    query = f"{query}&{inherited}" if query else inherited
            # Everything but the address and the time: most visits repeat a shape already
            # enriched (same agent, referrer, tags, headers), so it is enriched once.
            key = (kind, user_agent, referrer, query, accept, sec_purpose, purpose, method)
            shape = shapes.get(key)
            if shape is None:
                shape = self._shape(key)
                if len(shapes) >= SHAPE_CACHE_SIZE:
                    shapes.clear()
                shapes[key] = shape
            if shape is _DROPPED:
                result.dropped += 1
                continue
            template, bot_class, channel = shape
            row = {
                **template,
                "ts": ts,
                "workspace_id": workspace_id,
                "link_id": link_id,
                "service": _cut(service, 32),
                "phase": phase,
                "automatic": automatic,
                "reason": _cut(reason, 64),
                "country": country,
                "visitor_hash": hashed,
            }
            result.rows.append(row)
            derived = _derived_kind(kind, channel)
            if derived is not None:
                result.rows.append({**row, "kind": derived})
            if browser_hash is not None and bot_class == "human":
                pair = (link_id, browser_hash)
                if pair not in result.returns:
                    result.returns[pair] = (workspace_id, ts)
        return result

    def _shape(self, key: tuple[Any, ...]) -> Any:
        kind, user_agent, referrer, query, accept, sec_purpose, purpose, method = key
        draft = EventDraft(
            ts=_SHAPE_TIME, link_id=_SHAPE_ID, workspace_id=_SHAPE_ID, kind=kind,
            user_agent=user_agent, referrer=referrer, query=query, accept=accept,
            sec_purpose=sec_purpose, purpose=purpose, method=method,
        )  # fmt: skip
        enriched = self._enricher.enrich(draft)
        if isinstance(enriched, Dropped):
            return _DROPPED
        template = event_row(enriched)
        for name in _PER_EVENT:
            template.pop(name)
        return template, enriched.bot_class, enriched.channel

    def _own_page_query(self, referrer: str) -> str | None:
        # A click's referrer is the smart-link page itself (same origin: the full URL is
        # sent); its campaign tags are the click's own.
        try:
            parts = urlsplit(referrer)
        except ValueError:
            return None
        host = (parts.hostname or "").removeprefix("www.")
        if host not in self._own or not parts.query:
            return None
        return parts.query

    def _browser_hash(self, cookie_header: bytes) -> str | None:
        assert self.signer is not None
        for part in cookie_header.decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "ll_b":
                browser_id = self.signer.browser_id_of(value)
                return None if browser_id is None else self.signer.browser_hash(browser_id)
        return None
