"""reminder attempts and retry time; presave index for release moves

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.create_index("ix_presave_release_country", ["release_id", "country"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.drop_index("ix_presave_release_country")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
