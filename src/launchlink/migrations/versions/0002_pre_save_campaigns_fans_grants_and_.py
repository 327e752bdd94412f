"""pre-save campaigns, fans, grants and consents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:30:10.789041
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_text",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "connect_service",
                "email",
                "sms",
                "future_releases",
                name="consentkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_consent_text_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_text")),
        sa.UniqueConstraint(
            "workspace_id",
            "kind",
            "version",
            name=op.f("uq_consent_text_workspace_id_kind_version"),
        ),
    )
    with op.batch_alter_table("consent_text", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_text_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "fan",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("email_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sms_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_fan_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan")),
        sa.UniqueConstraint("workspace_id", "email", name=op.f("uq_fan_workspace_id_email")),
    )
    with op.batch_alter_table("fan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fan_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "workspace_service_mode",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "direct_save",
                "preadd",
                "reminder",
                "link_only",
                "off",
                name="servicemode",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_workspace_service_mode_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "service", name=op.f("pk_workspace_service_mode")),
    )
    op.create_table(
        "service_grant",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("fan_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("access_token", sa.LargeBinary(), nullable=True),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("storefront", sa.String(length=8), nullable=True),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("standing_artist_ids", sa.JSON(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_service_grant_fan_id_fan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_service_grant_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_grant")),
        sa.UniqueConstraint(
            "workspace_id",
            "service",
            "account_id",
            name=op.f("uq_service_grant_workspace_id_service_account_id"),
        ),
    )
    with op.batch_alter_table("service_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_grant_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_service_grant_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "campaign",
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("presave_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_modes", sa.JSON(), nullable=False),
        sa.Column("link_only_urls", sa.JSON(), nullable=False),
        sa.Column("save_release", sa.Boolean(), nullable=False),
        sa.Column("follow_artist_ids", sa.JSON(), nullable=False),
        sa.Column("extra_follows", sa.JSON(), nullable=False),
        sa.Column(
            "follow_timing",
            sa.Enum("consent", "release", name="followtiming", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("playlist_action", sa.JSON(), nullable=True),
        sa.Column("apple_preorder_album_id", sa.String(length=64), nullable=True),
        sa.Column("email_opt_in", sa.Boolean(), nullable=False),
        sa.Column("sms_opt_in", sa.Boolean(), nullable=False),
        sa.Column("future_releases_opt_in", sa.Boolean(), nullable=False),
        sa.Column("consent_text_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_campaign_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_campaign_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_campaign")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "magic_link",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("fan_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_magic_link_fan_id_fan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_magic_link_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_magic_link_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_magic_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_magic_link_token_hash")),
    )
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_magic_link_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "oauth_attempt",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.LargeBinary(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_oauth_attempt_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_oauth_attempt_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_attempt")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oauth_attempt_state_hash")),
    )
    with op.batch_alter_table("oauth_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_attempt_link_id"), ["link_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth_attempt_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "presave",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("fan_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "direct_save",
                "preadd",
                "reminder",
                "link_only",
                "off",
                name="servicemode",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "due",
                "resolving",
                "executing",
                "done",
                "partial",
                "needs_reauth",
                "failed",
                "cancelled",
                name="presavestate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("final_reason", sa.String(length=500), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("standing", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_presave_fan_id_fan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["service_grant.id"],
            name=op.f("fk_presave_grant_id_service_grant"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_presave_link_id_link"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_presave_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_presave_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presave")),
        sa.UniqueConstraint(
            "link_id", "service", "grant_id", name=op.f("uq_presave_link_id_service_grant_id")
        ),
    )
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_presave_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_presave_grant_id"), ["grant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_presave_link_id"), ["link_id"], unique=False)
        batch_op.create_index("ix_presave_release_state", ["release_id", "state"], unique=False)
        batch_op.create_index("ix_presave_state_due_at", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_presave_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "consent_record",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("fan_id", sa.Uuid(), nullable=False),
        sa.Column("presave_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "connect_service",
                "email",
                "sms",
                "future_releases",
                name="consentkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("service", sa.String(length=32), nullable=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("consent_text_id", sa.Uuid(), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_text.id"],
            name=op.f("fk_consent_record_consent_text_id_consent_text"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fan.id"], name=op.f("fk_consent_record_fan_id_fan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["presave_id"],
            ["presave.id"],
            name=op.f("fk_consent_record_presave_id_presave"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_consent_record_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_record_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_consent_record_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "presave_event",
        sa.Column("presave_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "due",
                "resolving",
                "executing",
                "done",
                "partial",
                "needs_reauth",
                "failed",
                "cancelled",
                name="presavestate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["presave_id"],
            ["presave.id"],
            name=op.f("fk_presave_event_presave_id_presave"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presave_event")),
    )
    with op.batch_alter_table("presave_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presave_event_presave_id"), ["presave_id"], unique=False
        )

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
                "pending",
                "sent",
                "failed",
                "cancelled",
                name="reminderstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
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
            ["presave_id"],
            ["presave.id"],
            name=op.f("fk_reminder_presave_id_presave"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_reminder_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index("ix_reminder_state_send_at", ["state", "send_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminder_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_workspace_id"))
        batch_op.drop_index("ix_reminder_state_send_at")
        batch_op.drop_index(batch_op.f("ix_reminder_fan_id"))

    op.drop_table("reminder")
    with op.batch_alter_table("presave_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presave_event_presave_id"))

    op.drop_table("presave_event")
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_record_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_consent_record_fan_id"))

    op.drop_table("consent_record")
    with op.batch_alter_table("presave", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presave_workspace_id"))
        batch_op.drop_index("ix_presave_state_due_at")
        batch_op.drop_index("ix_presave_release_state")
        batch_op.drop_index(batch_op.f("ix_presave_link_id"))
        batch_op.drop_index(batch_op.f("ix_presave_grant_id"))
        batch_op.drop_index(batch_op.f("ix_presave_fan_id"))

    op.drop_table("presave")
    with op.batch_alter_table("oauth_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_attempt_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_attempt_link_id"))

    op.drop_table("oauth_attempt")
    with op.batch_alter_table("magic_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_magic_link_workspace_id"))

    op.drop_table("magic_link")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_workspace_id"))

    op.drop_table("campaign")
    with op.batch_alter_table("service_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_grant_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_service_grant_fan_id"))

    op.drop_table("service_grant")
    op.drop_table("workspace_service_mode")
    with op.batch_alter_table("fan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fan_workspace_id"))

    op.drop_table("fan")
    with op.batch_alter_table("consent_text", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_text_workspace_id"))

    op.drop_table("consent_text")
