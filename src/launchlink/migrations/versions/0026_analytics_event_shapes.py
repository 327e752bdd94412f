"""analytics events: narrow raw rows, each request shape stored once (analytics_shape)

A raw event carried 31 columns, most of them its request's shape: the user agent,
referrer, campaign query and prefetch headers, and the labels the classifier derived
from them. Most events repeat a shape, and the insert of the wide row was half the
ingest's time budget (bench/analytics.py). The shape now lives once in
``analytics_shape`` (unique per digest of its raw fields and classifier version) and the
event row keeps its time, link, kind, service, phase, reason, country, visitor hash and
``shape_id``. The per-workspace index goes (nothing reads raw events by workspace).

Existing rows are moved in id order, ids kept. Events with the same raw fields and
classifier version share one shape; if an older run stored them with different labels
(it cannot, short of a rule change without a version bump), the first event's labels win.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04 02:00:00.000000
"""

# ruff: noqa: S608  (the SQL is built from this file's own constants)

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_PER_EVENT = ("id", "ts", "workspace_id", "link_id", "kind", "service", "phase", "automatic",
              "reason", "country", "visitor_hash")  # fmt: skip
_RAW = ("user_agent", "referrer", "query", "accept", "sec_purpose", "purpose", "method")
_LABELS = ("bot_class", "bot_reason", "device_class", "os", "browser", "in_app", "source",
           "referrer_host", "channel", "utm_source", "utm_medium", "utm_campaign")  # fmt: skip
_SHAPE = ("classifier_version", *_LABELS, *_RAW)
_FACT_KINDS = ("fulfilment_outcome", "message_sent")
_CHUNK = 5000


def _digest(raw: tuple[Any, ...]) -> str:
    # launchlink.analytics.ingest.shape_digest as of this revision (a migration does not
    # import code that may change after it; tests/analytics/test_shapes.py checks both).
    return hashlib.blake2b(repr(tuple(raw)).encode(), digest_size=16).hexdigest()


def _shape_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("classifier_version", sa.SmallInteger(), nullable=False),
        sa.Column("bot_class", sa.String(length=16), nullable=False),
        sa.Column("bot_reason", sa.String(length=200), nullable=True),
        sa.Column("device_class", sa.String(length=16), nullable=False),
        sa.Column("os", sa.String(length=32), nullable=True),
        sa.Column("browser", sa.String(length=64), nullable=True),
        sa.Column("in_app", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("referrer_host", sa.String(length=253), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("utm_source", sa.String(length=100), nullable=True),
        sa.Column("utm_medium", sa.String(length=100), nullable=True),
        sa.Column("utm_campaign", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("referrer", sa.String(length=300), nullable=True),
        sa.Column("query", sa.String(length=700), nullable=True),
        sa.Column("accept", sa.String(length=200), nullable=True),
        sa.Column("sec_purpose", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
    ]


def _event_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("visitor_hash", sa.String(length=32), nullable=True),
    ]


def _set_aside(new_name: str, indexes: Sequence[str]) -> None:
    """Rename ``analytics_event`` out of the way, with the names PostgreSQL keeps per
    schema (its key and id sequence), so the replacement can take them."""
    for index in indexes:
        op.drop_index(index, table_name="analytics_event")
    op.rename_table("analytics_event", new_name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT pk_analytics_event TO pk_{new_name}")
        op.execute(f"ALTER SEQUENCE analytics_event_id_seq RENAME TO {new_name}_id_seq")


def _restart_ids(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def upgrade() -> None:
    op.create_table(
        "analytics_shape",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        *_shape_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_shape")),
        sa.UniqueConstraint("digest", "classifier_version", name="uq_analytics_shape_digest"),
    )
    _set_aside(
        "analytics_event_wide",
        ("ix_analytics_event_link_ts", "ix_analytics_event_ts", "ix_analytics_event_workspace_ts"),
    )
    op.create_table(
        "analytics_event",
        *_event_columns(),
        sa.Column("shape_id", _ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_event")),
    )
    connection = op.get_bind()
    shapes: dict[tuple[str, int], int] = {}
    select = (
        f"SELECT {', '.join((*_PER_EVENT, *_SHAPE))} FROM analytics_event_wide "
        "WHERE id > :after ORDER BY id LIMIT :limit"
    )
    insert_shape = sa.text(
        f"INSERT INTO analytics_shape (id, digest, {', '.join(_SHAPE)}) VALUES "
        f"(:id, :digest, {', '.join(':' + name for name in _SHAPE)})"
    )
    insert_event = sa.text(
        f"INSERT INTO analytics_event ({', '.join(_PER_EVENT)}, shape_id) VALUES "
        f"({', '.join(':' + name for name in _PER_EVENT)}, :shape_id)"
    )
    after = 0
    while True:
        rows = [
            dict(row._mapping)
            for row in connection.execute(sa.text(select), {"after": after, "limit": _CHUNK})
        ]
        if not rows:
            break
        after = rows[-1]["id"]
        events = []
        for row in rows:
            raw = tuple(row[name] for name in _RAW)
            fact = row["kind"] in _FACT_KINDS and all(value is None for value in raw[:-1])
            key = ("fact" if fact else _digest(raw), int(row["classifier_version"]))
            shape_id = shapes.get(key)
            if shape_id is None:
                shape_id = shapes[key] = len(shapes) + 1
                connection.execute(
                    insert_shape,
                    {"id": shape_id, "digest": key[0], **{name: row[name] for name in _SHAPE}},
                )
            events.append({**{name: row[name] for name in _PER_EVENT}, "shape_id": shape_id})
        connection.execute(insert_event, events)
    op.drop_table("analytics_event_wide")
    _restart_ids("analytics_event")
    _restart_ids("analytics_shape")
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_event_link_ts", ["link_id", "ts"], unique=False)
        batch_op.create_index("ix_analytics_event_ts", ["ts"], unique=False)


def downgrade() -> None:
    _set_aside("analytics_event_narrow", ("ix_analytics_event_link_ts", "ix_analytics_event_ts"))
    columns = _event_columns()
    op.create_table(
        "analytics_event",
        *columns,
        *_shape_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_event")),
    )
    names = (*_PER_EVENT, *_SHAPE)
    op.execute(
        f"INSERT INTO analytics_event ({', '.join(names)}) SELECT "
        f"{', '.join(f'e.{n}' for n in _PER_EVENT)}, {', '.join(f's.{n}' for n in _SHAPE)} "
        "FROM analytics_event_narrow AS e JOIN analytics_shape AS s ON s.id = e.shape_id"
    )
    op.drop_table("analytics_event_narrow")
    op.drop_table("analytics_shape")
    _restart_ids("analytics_event")
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_event_link_ts", ["link_id", "ts"], unique=False)
        batch_op.create_index("ix_analytics_event_ts", ["ts"], unique=False)
        batch_op.create_index(
            "ix_analytics_event_workspace_ts", ["workspace_id", "ts"], unique=False
        )
