"""presave: reminder-only consent per pre-save (email and SMS), apart from marketing

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 01:40:00

Existing fans keep their ``fan.email_consent_at`` / ``sms_consent_at``, which meant
"this release and future ones": they stay marketing consent (which also covers every
reminder), so nothing needs back-filling. ``consent_text.kind`` / ``consent_record.kind``
are non-native enums without a CHECK constraint: the two new kinds need no DDL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_reminder_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("sms_reminder_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.drop_column("sms_reminder_at")
        batch_op.drop_column("email_reminder_at")
