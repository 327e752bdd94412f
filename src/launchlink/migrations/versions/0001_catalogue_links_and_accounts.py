"""catalogue, links and accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-27 10:20:37.107217
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_change")),
    )
    with op.batch_alter_table("link_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_change_link_id"), ["link_id"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "workspace",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("artist", "label", name="workspacekind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace")),
    )
    op.create_table(
        "api_key",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner", "admin", "editor", "viewer", name="role", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_api_key_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "artist",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("service_ids", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_artist_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artist")),
    )
    with op.batch_alter_table("artist", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artist_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "custom_domain",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("root_link_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_custom_domain_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_domain")),
        sa.UniqueConstraint("hostname", name=op.f("uq_custom_domain_hostname")),
    )
    with op.batch_alter_table("custom_domain", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custom_domain_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "membership",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner", "admin", "editor", "viewer", name="role", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_membership_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_membership_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_membership")),
    )
    op.create_table(
        "release",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column(
            "type",
            sa.Enum("single", "ep", "album", name="releasetype", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("upc", sa.String(length=14), nullable=True),
        sa.Column("artwork_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "release_mode",
            sa.Enum("global", "local", name="releasemode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("release_instant", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("label_name", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_release_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release")),
    )
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_upc"), ["upc"], unique=False)
        batch_op.create_index(batch_op.f("ix_release_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "link",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("custom_domain_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custom_domain_id"],
            ["custom_domain.id"],
            name=op.f("fk_link_custom_domain_id_custom_domain"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_link_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_link_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
        sa.UniqueConstraint("host", "slug", name=op.f("uq_link_host_slug")),
    )
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_custom_domain_id"), ["custom_domain_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_link_release_id"), ["release_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "release_artist",
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("artist_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artist.id"],
            name=op.f("fk_release_artist_artist_id_artist"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_release_artist_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("release_id", "artist_id", name=op.f("pk_release_artist")),
    )
    with op.batch_alter_table("release_artist", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_artist_artist_id"), ["artist_id"], unique=False
        )

    op.create_table(
        "track",
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("isrc", sa.String(length=12), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["release.id"],
            name=op.f("fk_track_release_id_release"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track")),
        sa.UniqueConstraint("release_id", "position", name=op.f("uq_track_release_id_position")),
    )
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_track_isrc"), ["isrc"], unique=False)
        batch_op.create_index(batch_op.f("ix_track_release_id"), ["release_id"], unique=False)

    op.create_table(
        "destination",
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("country_urls", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["link.id"], name=op.f("fk_destination_link_id_link"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destination")),
        sa.UniqueConstraint("link_id", "service", name=op.f("uq_destination_link_id_service")),
    )


def downgrade() -> None:
    op.drop_table("destination")
    with op.batch_alter_table("track", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_track_release_id"))
        batch_op.drop_index(batch_op.f("ix_track_isrc"))

    op.drop_table("track")
    with op.batch_alter_table("release_artist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_artist_artist_id"))

    op.drop_table("release_artist")
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_link_release_id"))
        batch_op.drop_index(batch_op.f("ix_link_custom_domain_id"))

    op.drop_table("link")
    with op.batch_alter_table("release", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_release_upc"))

    op.drop_table("release")
    op.drop_table("membership")
    with op.batch_alter_table("custom_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custom_domain_workspace_id"))

    op.drop_table("custom_domain")
    with op.batch_alter_table("artist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artist_workspace_id"))

    op.drop_table("artist")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_workspace_id"))

    op.drop_table("api_key")
    op.drop_table("workspace")
    op.drop_table("user_account")
    with op.batch_alter_table("link_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_change_link_id"))

    op.drop_table("link_change")
