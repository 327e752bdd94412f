"""analytics rollups: clustered on their key on SQLite, a covering series index

On SQLite the rollup table becomes ``WITHOUT ROWID``: its rows are stored in the primary
key's b-tree, so a range of a scope's cells (totals) is one walk of that tree instead of
an index walk plus a table lookup per row, and an upsert maintains one tree fewer. The
series index gains ``value`` and ``count`` so a time series is read from the index alone
(an index-only scan on PostgreSQL once vacuumed). bench/analytics.py and bench/dashboard.py measure
both; docs/benchmarks.md has the figures.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ["scope_id", "period", "start", "metric", "dimension", "value"]
_SERIES = ["scope_id", "period", "dimension", "metric", "start"]


def _rebuild(*, with_rowid: bool) -> None:
    """SQLite: copy the rollups into a table of the other storage (in key order)."""
    op.create_table(
        "_analytics_rollup_new",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=1), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(length=24), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*_KEY, name="pk_analytics_rollup"),
        sqlite_with_rowid=with_rowid,
    )
    columns = ", ".join([*_KEY, "count"])
    op.execute(
        f"INSERT INTO _analytics_rollup_new ({columns}) SELECT {columns} "  # noqa: S608
        f"FROM analytics_rollup ORDER BY {', '.join(_KEY)}"
    )
    op.drop_table("analytics_rollup")
    op.rename_table("_analytics_rollup_new", "analytics_rollup")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=False)  # the old table's index went with it
    else:
        op.drop_index("ix_analytics_rollup_series", table_name="analytics_rollup")
    op.create_index("ix_analytics_rollup_series", "analytics_rollup", [*_SERIES, "value", "count"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(with_rowid=True)
    else:
        op.drop_index("ix_analytics_rollup_series", table_name="analytics_rollup")
    op.create_index("ix_analytics_rollup_series", "analytics_rollup", _SERIES)
