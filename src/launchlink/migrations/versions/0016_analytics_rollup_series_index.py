"""analytics rollups: an index for time series (scope, period, dimension, metric, start)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_analytics_rollup_series",
        "analytics_rollup",
        ["scope_id", "period", "dimension", "metric", "start"],
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_rollup_series", table_name="analytics_rollup")
