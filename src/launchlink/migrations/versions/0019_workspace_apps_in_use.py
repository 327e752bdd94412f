"""workspace apps in use: the app a grant belongs to, a rejected credential

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("app_client_id", sa.String(length=200), nullable=True))
    with op.batch_alter_table("service_credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rejected_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_credential", schema=None) as batch_op:
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("rejected_reason")
    with op.batch_alter_table("service_grant", schema=None) as batch_op:
        batch_op.drop_column("app_client_id")
