"""custom domain ownership: pending claims; a domain is held once ownership is proven

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00

Domains registered before this revision were already serving links: they stay held
(``verified_at`` NULL says they predate the check), so an upgrade takes no link down.
The ``custom_domain`` table is only added to (no rebuild on SQLite, where rebuilding a
table that links point at would trip their foreign key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custom_domain_claim",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("verification_token", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_custom_domain_claim_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_domain_claim")),
        sa.UniqueConstraint(
            "workspace_id", "hostname", name=op.f("uq_custom_domain_claim_workspace_id_hostname")
        ),
    )
    with op.batch_alter_table("custom_domain_claim", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_domain_claim_workspace_id"), ["workspace_id"], unique=False
        )
    with op.batch_alter_table("custom_domain", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would trip the links' foreign key.
    op.drop_column("custom_domain", "verified_by")
    op.drop_column("custom_domain", "verified_at")
    with op.batch_alter_table("custom_domain_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_domain_claim_workspace_id"))
    op.drop_table("custom_domain_claim")
