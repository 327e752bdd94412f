"""messaging: announcements, workspaces' own quiet hours, resuming a paused workspace

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcement",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_announcement_link_id_link"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"],
            name=op.f("fk_announcement_workspace_id_workspace"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
    )  # fmt: skip
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_announcement_workspace_id"), ["workspace_id"], unique=False
        )
    with op.batch_alter_table("quiet_hours_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("workspace_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_quiet_hours_rule_workspace_id_workspace"),
            "workspace",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint("uq_quiet_hours_rule_scope_channel", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_quiet_hours_rule_workspace_id_scope_channel"),
            ["workspace_id", "scope", "channel"],
        )
        batch_op.create_index(
            "uq_quiet_hours_rule_instance",
            ["scope", "channel"],
            unique=True,
            postgresql_where=sa.text("workspace_id IS NULL"),
            sqlite_where=sa.text("workspace_id IS NULL"),
        )
    with op.batch_alter_table("workspace_messaging", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace_messaging", schema=None) as batch_op:
        batch_op.drop_column("resumed_at")
    op.execute("DELETE FROM quiet_hours_rule WHERE workspace_id IS NOT NULL")
    with op.batch_alter_table("quiet_hours_rule", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_quiet_hours_rule_instance",
            postgresql_where=sa.text("workspace_id IS NULL"),
            sqlite_where=sa.text("workspace_id IS NULL"),
        )
        batch_op.drop_constraint(
            batch_op.f("uq_quiet_hours_rule_workspace_id_scope_channel"), type_="unique"
        )
        batch_op.create_unique_constraint("uq_quiet_hours_rule_scope_channel", ["scope", "channel"])
        batch_op.drop_constraint(
            batch_op.f("fk_quiet_hours_rule_workspace_id_workspace"), type_="foreignkey"
        )
        batch_op.drop_column("workspace_id")
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcement_workspace_id"))
    op.drop_table("announcement")
