"""presave: an index on (release_id, service, state) for the fulfilment completion check

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-04 03:00:00

FulfilmentRepository.completed_services asks, per (release, service), whether any
pre-save is still open. With only (release_id, state) that probe read every open pre-save
of the release and filtered by service: 0.1 ms for a service with open rows but 15 ms
(27,829 rows read, EXPLAIN ANALYZE on PostgreSQL at 28,000 open pre-saves) for a service
with none open, on every commit of that service's tail. With the service in the key the
probe stops at the first row either way.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_presave_release_service_state", "presave", ["release_id", "service", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_presave_release_service_state", table_name="presave")
