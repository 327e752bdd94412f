"""reminders become messages: pending reminder rows move into the message outbox

The release-day reminder had its own queue (``reminder`` rows sent by a loop of their
own); the message outbox of 0012 does that job now (a "remind me" sign-up is a pre-save
whose release-day message is the reminder). Every reminder still pending becomes a
queued ``release_day`` message with the same instant, attempts and retry time (its
``dedupe_key`` is the planner's, so a later sweep does not plan it again), with a ledger
row saying where it came from; then the old table goes. Sent, failed and cancelled
reminders are history only and are not carried over.

Downgrade recreates the empty ``reminder`` table; the moved messages stay messages.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from launchlink.db import UTCDateTime
from launchlink.kit.ids import uuid7

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_reminder = sa.table(
    "reminder",
    sa.column("id", sa.Uuid()),
    sa.column("workspace_id", sa.Uuid()),
    sa.column("fan_id", sa.Uuid()),
    sa.column("link_id", sa.Uuid()),
    sa.column("presave_id", sa.Uuid()),
    sa.column("channel", sa.String()),
    sa.column("service", sa.String()),
    sa.column("send_at", UTCDateTime()),
    sa.column("state", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("retry_at", UTCDateTime()),
)
_link = sa.table("link", sa.column("id", sa.Uuid()), sa.column("release_id", sa.Uuid()))
_message = sa.table(
    "message",
    sa.column("id", sa.Uuid()),
    sa.column("workspace_id", sa.Uuid()),
    sa.column("fan_id", sa.Uuid()),
    sa.column("link_id", sa.Uuid()),
    sa.column("release_id", sa.Uuid()),
    sa.column("presave_id", sa.Uuid()),
    sa.column("channel", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("dedupe_key", sa.String()),
    sa.column("variables", sa.JSON()),
    sa.column("send_at", UTCDateTime()),
    sa.column("next_attempt_at", UTCDateTime()),
    sa.column("state", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("claims", sa.Integer()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
_status = sa.table(
    "message_status",
    sa.column("id", sa.Uuid()),
    sa.column("message_id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("source", sa.String()),
    sa.column("detail", sa.String()),
    sa.column("at", UTCDateTime()),
)


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    pending = bind.execute(
        sa.select(
            _reminder.c.workspace_id, _reminder.c.fan_id, _reminder.c.link_id,
            _reminder.c.presave_id, _reminder.c.channel, _reminder.c.service,
            _reminder.c.send_at, _reminder.c.attempts, _reminder.c.retry_at,
            _link.c.release_id,
        )
        .join(_link, _link.c.id == _reminder.c.link_id)
        .where(_reminder.c.state == "pending")
        .order_by(_reminder.c.send_at)
    ).all()  # fmt: skip
    taken = set(bind.execute(sa.select(_message.c.dedupe_key)).scalars())
    messages, ledger = [], []
    for row in pending:
        key = f"release_day:{row.link_id}:{row.fan_id}:{row.channel}"
        if key in taken:
            continue
        taken.add(key)
        message_id = uuid7()
        messages.append(
            {
                "id": message_id,
                "workspace_id": row.workspace_id,
                "fan_id": row.fan_id,
                "link_id": row.link_id,
                "release_id": row.release_id,
                "presave_id": row.presave_id,
                "channel": row.channel,
                "kind": "release_day",
                "dedupe_key": key,
                "variables": {"service": row.service or "any", "hours": 24},
                "send_at": row.send_at,
                "next_attempt_at": row.retry_at or row.send_at,
                "state": "queued",
                "attempts": row.attempts or 0,
                "claims": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        ledger.append(
            {
                "id": uuid7(),
                "message_id": message_id,
                "status": "queued",
                "source": "migration",
                "detail": "a pending release-day reminder (migration 0015)",
                "at": now,
            }
        )
    if messages:
        op.bulk_insert(_message, messages)
        op.bulk_insert(_status, ledger)
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_workspace_id"))
        batch_op.drop_index("ix_reminder_state_send_at")
        batch_op.drop_index(batch_op.f("ix_reminder_fan_id"))
    op.drop_table("reminder")


def downgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("fan_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("presave_id", sa.Uuid(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", name="reminderchannel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "sent", "failed", "cancelled",
                name="reminderstate", native_enum=False, length=24,
            ),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_reminder_fan_id_fan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_reminder_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["presave_id"], ["presave.id"], name=op.f("fk_reminder_presave_id_presave"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_reminder_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
    )  # fmt: skip
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index("ix_reminder_state_send_at", ["state", "send_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminder_workspace_id"), ["workspace_id"], unique=False
        )
