"""analytics visitors: one sighting row per scope, day and visitor, its buckets as bits

A human page view used to write four sightings (link and workspace × ``all`` and its
phase bucket); it now writes two, each carrying its buckets as bits (all 1, pre 2,
post 4, none 8). ``added`` holds the bits the row's last write added, so one
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` tells which buckets were new. On SQLite
the table has no rowid (one b-tree per insert, not two). Existing sightings are folded.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 17:40:00.000000
"""

# ruff: noqa: S608  (the SQL is built from this file's own constants)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BITS = (("all", 1), ("pre", 2), ("post", 4), ("none", 8))


def upgrade() -> None:
    op.create_table(
        "analytics_visitor_day",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_hash", sa.String(length=32), nullable=False),
        sa.Column("buckets", sa.SmallInteger(), nullable=False),
        sa.Column("added", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope_id", "day", "visitor_hash", name=op.f("pk_analytics_visitor_day")
        ),
        sqlite_with_rowid=False,
    )
    folded = " + ".join(
        f"MAX(CASE WHEN bucket = '{name}' THEN {bit} ELSE 0 END)" for name, bit in _BITS
    )
    op.execute(
        "INSERT INTO analytics_visitor_day (scope_id, day, visitor_hash, buckets, added) "
        f"SELECT scope_id, day, visitor_hash, {folded}, 0 FROM analytics_visitor "
        "GROUP BY scope_id, day, visitor_hash"
    )
    op.drop_table("analytics_visitor")


def downgrade() -> None:
    op.create_table(
        "analytics_visitor",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.String(length=4), nullable=False),
        sa.Column("visitor_hash", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint(
            "scope_id", "day", "bucket", "visitor_hash", name=op.f("pk_analytics_visitor")
        ),
    )
    for name, bit in _BITS:
        op.execute(
            "INSERT INTO analytics_visitor (scope_id, day, bucket, visitor_hash) "
            f"SELECT scope_id, day, '{name}', visitor_hash FROM analytics_visitor_day "
            f"WHERE (buckets & {bit}) != 0"
        )
    op.drop_table("analytics_visitor_day")
