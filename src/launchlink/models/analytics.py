"""Visit analytics: raw events, hourly and daily rollups, visitor first-sightings, salts.

``analytics_event`` keeps what replay needs and nothing more: per event its time, link,
kind, country and the day's visitor hash, and a reference to its request's shape
(``analytics_shape``: the raw fields the classifier reads — user agent, referrer, campaign
query, the prefetch headers — and the labels derived from them), never the client IP. The
dashboard and the API read only ``analytics_rollup``: per scope (a link, or its workspace
as a whole), per period (an hour or a UTC day), per metric × dimension × value, one count.
The flusher keeps rollups in the same transaction as the raw rows it writes, so they never
disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from launchlink.db import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")
# The rollup cells a time series reads; a series query repeats this condition word for
# word, so both databases see that the partial series index covers it.
SERIES_CELLS = "dimension IN ('all', 'bucket') AND value IN ('', 'all')"


class AnalyticsShape(Base):
    """One request shape: the raw fields the classifier reads and the labels it gave them.

    Most visits repeat a shape (the same app's user agent, the same story link), so the
    shape is stored once and every raw event refers to it by ``id``: the raw row stays
    narrow (its insert was half the ingest's time budget, bench/analytics.py). ``digest``
    is :func:`launchlink.analytics.ingest.shape_digest` of the raw fields; a shape is
    unique per digest and classifier version, so replaying a newer classifier points the
    events it covers at a new row and leaves older events (and their rollups) as counted.
    Facts no request carried (fulfilment outcomes, messages sent) share the digest
    ``fact``. Never holds an IP: the raw fields are already stripped of it and of click ids.
    """

    __tablename__ = "analytics_shape"
    __table_args__ = (
        UniqueConstraint("digest", "classifier_version", name="uq_analytics_shape_digest"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(32))
    classifier_version: Mapped[int] = mapped_column(SmallInteger)
    bot_class: Mapped[str] = mapped_column(String(16))
    bot_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    device_class: Mapped[str] = mapped_column(String(16))
    os: Mapped[str | None] = mapped_column(String(32), default=None)
    browser: Mapped[str | None] = mapped_column(String(64), default=None)
    in_app: Mapped[str | None] = mapped_column(String(32), default=None)
    source: Mapped[str] = mapped_column(String(16))
    referrer_host: Mapped[str | None] = mapped_column(String(253), default=None)
    channel: Mapped[str | None] = mapped_column(String(64), default=None)
    utm_source: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    # The raw fields replay reads (EventDraft), already stripped of the IP and click ids.
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    referrer: Mapped[str | None] = mapped_column(String(300), default=None)
    query: Mapped[str | None] = mapped_column(String(700), default=None)
    accept: Mapped[str | None] = mapped_column(String(200), default=None)
    sec_purpose: Mapped[str | None] = mapped_column(String(64), default=None)
    purpose: Mapped[str | None] = mapped_column(String(64), default=None)
    method: Mapped[str] = mapped_column(String(8), default="GET")


class AnalyticsEvent(Base):
    """One captured fact (a page view, a click, a pre-save step, a fulfilment outcome…).

    Only what differs per event is here; the request's shape (user agent, referrer,
    campaign query, the labels derived from them) is :class:`AnalyticsShape`
    (``shape_id``). Indexes: per link and time (exports, the API), time (retention).
    """

    __tablename__ = "analytics_event"
    __table_args__ = (
        Index("ix_analytics_event_link_ts", "link_id", "ts"),
        Index("ix_analytics_event_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    workspace_id: Mapped[UUID] = mapped_column(Uuid)
    link_id: Mapped[UUID | None] = mapped_column(Uuid, default=None)
    kind: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(32), default=None)
    phase: Mapped[str | None] = mapped_column(String(16), default=None)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    country: Mapped[str | None] = mapped_column(String(2), default=None)
    visitor_hash: Mapped[str | None] = mapped_column(String(32), default=None)
    shape_id: Mapped[int] = mapped_column(_ID)


class AnalyticsRollup(Base):
    """A count per scope × period × metric × dimension × value (``period``: h or d).

    The primary key serves totals (a scope's period over a time range, every cell); the
    series index serves time series: it holds only the cells a series reads (each
    metric's ``all`` cell and the visitors' ``all`` bucket, ~10 of a busy hour's ~230), in
    time order, with ``count`` (an index-only read, one row per period; migration 0030).
    On SQLite the table is ``WITHOUT ROWID``: the rows live in the key's b-tree, so
    totals read no second tree (migration 0021).
    """

    __tablename__ = "analytics_rollup"
    __table_args__ = (
        Index(
            "ix_analytics_rollup_series",
            "scope_id",
            "period",
            "start",
            "metric",
            "count",
            sqlite_where=text(SERIES_CELLS),
            postgresql_where=text(SERIES_CELLS),
        ),
        {"sqlite_with_rowid": False},
    )

    scope_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    period: Mapped[str] = mapped_column(String(1), primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(120), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsVisitor(Base):
    """A visitor's first sighting of a UTC day per scope, with the phase buckets seen.

    ``buckets`` are bits (:data:`VISITOR_BUCKET_BITS`: all, pre, post, none); ``added``
    the bits the row's last write added, so one upsert tells which buckets were new (a
    human page view writes two rows, its link's and its workspace's, not four). The key
    holds the day's pseudonymous hash only: with the day's salt deleted after 48 h it
    links to nobody. Kept to count each visitor once per day; pruned after three days.
    SQLite: no rowid (one b-tree per insert).
    """

    __tablename__ = "analytics_visitor_day"
    __table_args__ = ({"sqlite_with_rowid": False},)

    scope_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visitor_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    buckets: Mapped[int] = mapped_column(SmallInteger)
    added: Mapped[int] = mapped_column(SmallInteger)


VISITOR_BUCKET_BITS: dict[str, int] = {"all": 1, "pre": 2, "post": 4, "none": 8}


class AnalyticsReturn(Base):
    """A pre-saver's browser that came back to the smart link after the release."""

    __tablename__ = "analytics_return"

    link_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class AnalyticsSalt(Base):
    """The random salt of one UTC day; deleted 48 h after the day began (Plausible)."""

    __tablename__ = "analytics_salt"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnalyticsInbox(Base):
    """One web process's flush, waiting for a worker to enrich and store it.

    Web processes with separate workers (``LAUNCHLINK_EMBEDDED_WORKER=false``) only
    anonymise what they captured (country, the day's visitor hash: no address, no cookie
    is in ``payload``) and write it here; a worker takes a row, enriches it and writes the
    events and rollups in the transaction that deletes the row, so it counts once.
    """

    __tablename__ = "analytics_inbox"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
