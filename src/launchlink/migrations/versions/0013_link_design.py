"""link design: theme and stored artwork of a link's fan pages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_design",
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("accent", sa.String(length=7), nullable=True),
        sa.Column("artwork_accent", sa.String(length=7), nullable=True),
        sa.Column("artwork_key", sa.String(length=80), nullable=True),
        sa.Column("artwork_size", sa.Integer(), nullable=True),
        sa.Column("headline", sa.String(length=80), nullable=True),
        sa.Column("presave_headline", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_link_design_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_link_design_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_link_design")),
    )
    with op.batch_alter_table("link_design", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_design_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("link_design", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_design_workspace_id"))
    op.drop_table("link_design")
