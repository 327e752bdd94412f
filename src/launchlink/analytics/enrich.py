"""Enrich-or-drop: a visit's raw fields become an analytics event through named steps.

Plausible's ingestion shape (``lib/plausible/ingestion/event.ex``): an :class:`Enricher`
runs its steps in order over one :class:`EventDraft`; each step either labels the event
(filling fields and noting why) or drops it with a reason, and the first drop ends the
pipeline. Bots are *labelled*, never dropped — a later, better classifier must be able
to change its mind about them (:func:`reclassify`).

The default steps:

``validate``         drops events that cannot be counted (naive time, bad kind, no link);
``bot``              bot class from the user agent (:mod:`launchlink.kit.useragent`), and
                     ``prefetch`` for human agents whose request was a prefetch
                     (``Sec-Purpose``/``Purpose``/``X-Purpose``/``X-Moz`` headers, HEAD,
                     no ``Accept``);
``device``           device class (incl. tablet), OS, browser, in-app browser;
``campaign``         UTM parameters and the channel code (``?c=ig-story``);
``source``           referrer → source; in-app browser and channel code when there is no
                     referrer;
``country``          trusted CDN header, else the bundled geo-IP database;
``visitor``          the day's keyed visitor hash (:mod:`launchlink.analytics.visitors`).

Privacy: the client IP is read by ``country`` and ``visitor`` only and is not part of
what :meth:`Enriched.stored_raw` returns; the stored raw event keeps the country and the
hash instead, so replaying it needs no IP. It keeps only the referrer's host (paths carry
searches and e-mail addresses) and only the campaign parameters of the query (not click
ids such as ``fbclid``/``gclid``).

Every answer depends on :data:`CLASSIFIER_VERSION`; bump it whenever a rule changes
(``tests/analytics/test_enrich.py`` pins it to the rules' fingerprint), then replay stored
events with ``launchlink analytics reclassify``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from launchlink.analytics.campaign import campaign_query, parse_campaign
from launchlink.analytics.devices import DeviceClass, describe_platform
from launchlink.analytics.referrers import IN_APP_SOURCES, Source, referrer_host, source_for_host
from launchlink.analytics.visitors import SaltStore, visitor_hash
from launchlink.kit.geo import GeoResolver, normalise_country_code
from launchlink.kit.useragent import classify
from launchlink.kit.useragent import rules_fingerprint as useragent_rules_fingerprint

# 1: is_bot / is_preview_bot only (crawler lists + crawlerdetect).
# 2: bot classes, anchored word rules, browser grammar, prefetch labels, sources, UTM.
# 3: a whole camel-case product that is a bot word (SlimerJS, WebDriver), more
#    automation drivers (Nightmare, CasperJS…).
# 4: desktop browser strings with one unknown product appended or with what no real one
#    sends, "-agent" names, SEO/audit/archive words; Lynx, Mosaic, Amaya, Dillo are humans.
CLASSIFIER_VERSION = 4
# The rules' fingerprint CLASSIFIER_VERSION was last bumped for (kept in step by a test).
RULES_FINGERPRINT = "a844bb3f9ef6b717"

EventBotClass = Literal["human", "preview", "ai_agent", "monitor", "bot", "prefetch"]
EVENT_BOT_CLASSES: tuple[EventBotClass, ...] = (
    "human", "preview", "ai_agent", "monitor", "bot", "prefetch",
)  # fmt: skip

_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_PREFETCH_VALUES = re.compile(r"\b(?:prefetch|prerender|preview)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """A visit's raw fields, as captured on the hot path or read back from storage.

    ``client_ip`` is present only between capture and enrichment; a stored raw event has
    ``country`` and ``visitor_hash`` instead (see :meth:`Enriched.stored_raw`).
    ``country_header`` is a trusted CDN's country header, passed only when the operator
    configured one. ``query`` is the URL's query string without the ``?``.
    """

    ts: datetime
    link_id: UUID
    workspace_id: UUID
    kind: str = "view"
    user_agent: str | None = None
    referrer: str | None = None
    query: str | None = None
    accept: str | None = None
    sec_purpose: str | None = None
    purpose: str | None = None
    method: str = "GET"
    client_ip: str | None = None
    country_header: str | None = None
    country: str | None = None
    visitor_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (ids and time as strings); ``client_ip`` is never included."""
        return _json_fields(self, skip="client_ip")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EventDraft:
        """Parse stored raw fields; raises :class:`InvalidRawEvent` naming the bad field."""
        if not isinstance(data, Mapping):
            raise InvalidRawEvent("event", "expected a JSON object")
        known = {spec.name for spec in fields(cls)} - {"client_ip"}
        unknown = sorted(set(data) - known)
        values: dict[str, Any] = {}
        for name in ("ts", "link_id", "workspace_id"):
            if name not in data:
                raise InvalidRawEvent(name, "missing")
        try:
            values["ts"] = datetime.fromisoformat(str(data["ts"]))
        except ValueError:
            raise InvalidRawEvent("ts", "not an ISO 8601 time") from None
        for name in ("link_id", "workspace_id"):
            try:
                values[name] = UUID(str(data[name]))
            except ValueError:
                raise InvalidRawEvent(name, "not a UUID") from None
        for name in sorted(known - {"ts", "link_id", "workspace_id"}):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise InvalidRawEvent(name, "expected a string")
            if value is not None:
                values[name] = value
        if unknown and "client_ip" in unknown:
            raise InvalidRawEvent("client_ip", "stored events never carry an IP address")
        return cls(**values)


def _json_fields(event: EventDraft | Enriched, *, skip: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in fields(event):
        if spec.name == skip:
            continue
        value = getattr(event, spec.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, UUID):
            value = str(value)
        out[spec.name] = value
    return out


class InvalidRawEvent(ValueError):
    """A stored raw event that cannot be read; names the field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Enriched:
    """An event ready to count (or to count as a bot)."""

    ts: datetime
    link_id: UUID
    workspace_id: UUID
    kind: str
    bot_class: EventBotClass
    bot_reason: str | None
    device_class: DeviceClass
    os: str | None
    browser: str | None
    in_app: str | None
    country: str | None
    source: Source
    referrer_host: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    channel: str | None
    visitor_hash: str | None
    classifier_version: int
    labels: tuple[tuple[str, str], ...]
    raw: EventDraft

    @property
    def is_human(self) -> bool:
        return self.bot_class == "human"

    def stored_raw(self) -> EventDraft:
        """What to keep for replay: the raw fields without the IP, with country and hash."""
        return self.raw

    def to_json(self) -> dict[str, Any]:
        out = _json_fields(self, skip="raw")
        out["labels"] = [list(label) for label in self.labels]
        out["raw"] = self.raw.to_json()
        return out


@dataclass(frozen=True, slots=True)
class Dropped:
    """An event a step refused, with the step's name and its reason."""

    step: str
    reason: str
    raw: EventDraft


@dataclass(slots=True)
class Enrichment:
    """The event being built; steps fill it in and note why (:meth:`label`)."""

    bot_class: EventBotClass = "human"
    bot_reason: str | None = None
    device_class: DeviceClass = "other"
    os: str | None = None
    browser: str | None = None
    in_app: str | None = None
    country: str | None = None
    source: Source = "direct"
    referrer_host: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    channel: str | None = None
    visitor_hash: str | None = None
    labels: list[tuple[str, str]] = field(default_factory=list)
    step: str = ""

    def label(self, reason: str) -> None:
        self.labels.append((self.step, reason))


StepFunction = Callable[[EventDraft, Enrichment], str | None]


@dataclass(frozen=True, slots=True)
class Step:
    """A named step: returns a drop reason, or None to let the event go on."""

    name: str
    run: StepFunction


class Enricher:
    """Runs its steps in order; the first drop wins."""

    def __init__(self, steps: Sequence[Step]) -> None:
        names = [step.name for step in steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique: {names}")
        self.steps = tuple(steps)

    def enrich(self, draft: EventDraft) -> Enriched | Dropped:
        out = Enrichment()
        for step in self.steps:
            out.step = step.name
            reason = step.run(draft, out)
            if reason is not None:
                return Dropped(step.name, reason, _without_ip(draft))
        stored = replace(
            draft,
            client_ip=None,
            country_header=None,
            referrer=_referrer_origin(draft.referrer),
            query=campaign_query(draft.query),
            country=out.country,
            visitor_hash=out.visitor_hash,
        )
        return Enriched(
            ts=draft.ts,
            link_id=draft.link_id,
            workspace_id=draft.workspace_id,
            kind=draft.kind,
            bot_class=out.bot_class,
            bot_reason=out.bot_reason,
            device_class=out.device_class,
            os=out.os,
            browser=out.browser,
            in_app=out.in_app,
            country=out.country,
            source=out.source,
            referrer_host=out.referrer_host,
            utm_source=out.utm_source,
            utm_medium=out.utm_medium,
            utm_campaign=out.utm_campaign,
            utm_term=out.utm_term,
            utm_content=out.utm_content,
            channel=out.channel,
            visitor_hash=out.visitor_hash,
            classifier_version=CLASSIFIER_VERSION,
            labels=tuple(out.labels),
            raw=stored,
        )

    def enrich_many(self, drafts: Iterable[EventDraft]) -> list[Enriched | Dropped]:
        return [self.enrich(draft) for draft in drafts]


def _referrer_origin(referrer: str | None) -> str | None:
    # Paths and queries of referrers carry searches and e-mail addresses; the host is all
    # a source needs, now and on replay.
    host = referrer_host(referrer)
    if host is None:
        return "invalid:" if referrer else None
    if host.startswith("android-app:"):
        return f"android-app://{host.removeprefix('android-app:')}"
    return f"https://{host}/"


def _without_ip(draft: EventDraft) -> EventDraft:
    return replace(draft, client_ip=None) if draft.client_ip is not None else draft


# --- the steps ---------------------------------------------------------------------------


def validate(draft: EventDraft, out: Enrichment) -> str | None:
    if draft.ts.tzinfo is None:
        return "naive timestamp"
    if not _KIND.fullmatch(draft.kind):
        return "invalid event kind"
    return None


def bot_classification(draft: EventDraft, out: Enrichment) -> str | None:
    agent = classify(draft.user_agent)
    out.bot_class = agent.bot_class
    out.bot_reason = agent.reason
    if agent.is_bot:
        out.label(f"{agent.bot_class}: {agent.reason}")
        return None
    prefetch = _prefetch_reason(draft)
    if prefetch is not None:
        out.bot_class = "prefetch"
        out.bot_reason = prefetch
        out.label(f"prefetch: {prefetch}")
    return None


def _prefetch_reason(draft: EventDraft) -> str | None:
    if draft.sec_purpose and _PREFETCH_VALUES.search(draft.sec_purpose):
        return "sec-purpose"
    if draft.purpose and _PREFETCH_VALUES.search(draft.purpose):
        return "purpose"
    if draft.method.upper() == "HEAD":
        return "head"
    if draft.accept is None or not draft.accept.strip():
        return "no accept"
    return None


def device(draft: EventDraft, out: Enrichment) -> str | None:
    platform = describe_platform(draft.user_agent)
    agent = classify(draft.user_agent)
    out.device_class = platform.device_class
    out.os = platform.os
    out.browser = agent.browser_family
    out.in_app = agent.in_app
    return None


def campaign(draft: EventDraft, out: Enrichment) -> str | None:
    tags = parse_campaign(draft.query)
    out.utm_source = tags.utm_source
    out.utm_medium = tags.utm_medium
    out.utm_campaign = tags.utm_campaign
    out.utm_term = tags.utm_term
    out.utm_content = tags.utm_content
    out.channel = tags.channel
    return None


def source_step(own_hosts: Iterable[str] = ()) -> Step:
    """Referrer → source. A referrer on one of ``own_hosts`` (the smart-link page itself)
    says nothing about where the fan came from, so it counts as no referrer."""
    own = frozenset(host.lower().removeprefix("www.") for host in own_hosts)

    def source(draft: EventDraft, out: Enrichment) -> str | None:
        tags = parse_campaign(draft.query)
        host = referrer_host(draft.referrer)
        unreadable = bool(draft.referrer) and host is None
        if host in own:
            host = None
        out.referrer_host = host
        declared = tags.declared_source()
        if declared is not None:
            out.source = declared
            out.label(f"declared by the link's tags: {declared}")
        elif host is not None:
            out.source = source_for_host(host)
        elif out.in_app in IN_APP_SOURCES:
            out.source = IN_APP_SOURCES[out.in_app]
            out.label(f"in-app browser: {out.in_app}")
        elif (hinted := tags.hinted_source()) is not None:
            out.source = hinted
            out.label(f"channel or utm_source: {hinted}")
        elif unreadable:
            out.source = "other"
            out.label("unreadable referrer")
        else:
            out.source = "direct"
        return None

    return Step("source", source)


def country_step(resolver: GeoResolver | None) -> Step:
    """A stored country stays; else the trusted header; else the IP on ``resolver``."""

    def country(draft: EventDraft, out: Enrichment) -> str | None:
        found = normalise_country_code(draft.country)
        if found is None:
            found = normalise_country_code(draft.country_header)
        if found is None and draft.client_ip and resolver is not None:
            found = resolver.country(draft.client_ip)
        out.country = found
        return None

    return Step("country", country)


def visitor_step(salts: SaltStore | None) -> Step:
    """A stored hash stays; else the hash of the day's salt, workspace, IP and agent."""

    def visitor(draft: EventDraft, out: Enrichment) -> str | None:
        if draft.visitor_hash:
            out.visitor_hash = draft.visitor_hash
            return None
        if not draft.client_ip or salts is None:
            return None
        salt = salts.salt_for(draft.ts)
        if salt is None:
            out.label("the day's salt is gone; no visitor hash")
            return None
        out.visitor_hash = visitor_hash(salt, draft.workspace_id, draft.client_ip, draft.user_agent)
        return None

    return Step("visitor", visitor)


def default_steps(
    *,
    geo: GeoResolver | None = None,
    salts: SaltStore | None = None,
    own_hosts: Iterable[str] = (),
) -> list[Step]:
    return [
        Step("validate", validate),
        Step("bot", bot_classification),
        Step("device", device),
        Step("campaign", campaign),
        source_step(own_hosts),
        country_step(geo),
        visitor_step(salts),
    ]


_REPLAY = Enricher(default_steps())


def reclassify(raw: EventDraft) -> Enriched | Dropped:
    """Enrich a stored raw event again with today's rules (pure: no IP, no salt, no I/O)."""
    return _REPLAY.enrich(raw)


def rules_fingerprint() -> str:
    """A digest of every rule the answers depend on (user agents, devices, sources, tags).

    When it changes, :data:`CLASSIFIER_VERSION` must be bumped and
    :data:`RULES_FINGERPRINT` updated (a test says so).
    """
    from launchlink.analytics import campaign as tags
    from launchlink.analytics import devices, referrers

    digest = hashlib.sha256(useragent_rules_fingerprint().encode())
    parts: list[Any] = [
        [(name, rule.pattern) for name, rule in devices._OS_RULES],
        [rule.pattern for rule in (devices._CONSOLE, devices._TV, devices._WEARABLE)],
        [rule.pattern for rule in (devices._TABLET, devices._MOBILE, devices._DESKTOP)],
        sorted(referrers._DOMAINS.items()),
        sorted(referrers._ANDROID_APPS.items()),
        referrers._GOOGLE.pattern,
        referrers._WEBMAIL.pattern,
        sorted(referrers.IN_APP_SOURCES.items()),
        sorted(tags._PREFIX_SOURCES.items()),
        sorted(tags._MEDIUM_SOURCES.items()),
        tags._CHANNEL.pattern,
        _PREFETCH_VALUES.pattern,
    ]
    digest.update(json.dumps(parts).encode())
    return digest.hexdigest()[:16]
