"""analytics rollups: the series index holds only the series cells, in time order

The old series index (0016, covering since 0021) held every rollup cell (~230 per scope
and hour of busy traffic) ordered by metric, for the ~10 a time series reads. This one
holds only those (``all`` cells and the visitors' ``all`` bucket), ordered by start, so a
series is read as one row per period (pivoted in SQL, no sort) from a small index, and
the rollup upserts of every other cell no longer maintain a second b-tree on SQLite.

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-04 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERIES_CELLS = "dimension IN ('all', 'bucket') AND value IN ('', 'all')"


def upgrade() -> None:
    op.drop_index("ix_analytics_rollup_series", table_name="analytics_rollup")
    op.create_index(
        "ix_analytics_rollup_series",
        "analytics_rollup",
        ["scope_id", "period", "start", "metric", "count"],
        sqlite_where=sa.text(_SERIES_CELLS),
        postgresql_where=sa.text(_SERIES_CELLS),
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_rollup_series", table_name="analytics_rollup")
    op.create_index(
        "ix_analytics_rollup_series",
        "analytics_rollup",
        ["scope_id", "period", "dimension", "metric", "start", "value", "count"],
    )
