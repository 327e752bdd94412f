"""All SQL of webhooks and service credentials."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from launchlink.models import ServiceCredential, ServiceGrant, WebhookAttempt, WebhookEndpoint


class IntegrationsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # -- webhooks ---------------------------------------------------------------------------

    async def endpoints(self, workspace_id: UUID) -> list[WebhookEndpoint]:
        result = await self.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        return list(result.scalars())

    async def endpoint(self, workspace_id: UUID, endpoint_id: UUID) -> WebhookEndpoint | None:
        result = await self.session.execute(
            select(WebhookEndpoint).where(
                WebhookEndpoint.workspace_id == workspace_id, WebhookEndpoint.id == endpoint_id
            )
        )
        return result.scalar_one_or_none()

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self.session.execute(
            delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)
        )
        await self.session.delete(endpoint)
        await self.session.flush()

    async def recent_attempts(
        self, endpoint_ids: Sequence[UUID], *, per_endpoint: int
    ) -> dict[UUID, list[WebhookAttempt]]:
        """The newest attempts of each endpoint (one query per endpoint: few endpoints)."""
        out: dict[UUID, list[WebhookAttempt]] = {}
        for endpoint_id in endpoint_ids:
            result = await self.session.execute(
                select(WebhookAttempt)
                .where(WebhookAttempt.endpoint_id == endpoint_id)
                .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc())
                .limit(per_endpoint)
            )
            out[endpoint_id] = list(result.scalars())
        return out

    async def delivered(self, event_id: UUID, endpoint_ids: Sequence[UUID]) -> set[UUID]:
        """Endpoints that already took this event (a retry skips them)."""
        if not endpoint_ids:
            return set()
        result = await self.session.execute(
            select(WebhookAttempt.endpoint_id).where(
                WebhookAttempt.event_id == event_id,
                WebhookAttempt.endpoint_id.in_(endpoint_ids),
                WebhookAttempt.ok.is_(True),
            )
        )
        return set(result.scalars())

    async def attempts_so_far(
        self, event_id: UUID, endpoint_ids: Sequence[UUID]
    ) -> dict[UUID, int]:
        if not endpoint_ids:
            return {}
        result = await self.session.execute(
            select(WebhookAttempt.endpoint_id, func.count())
            .where(
                WebhookAttempt.event_id == event_id, WebhookAttempt.endpoint_id.in_(endpoint_ids)
            )
            .group_by(WebhookAttempt.endpoint_id)
        )
        return {row[0]: int(row[1]) for row in result}

    # -- service credentials ----------------------------------------------------------------

    async def credentials(self, workspace_id: UUID) -> list[ServiceCredential]:
        result = await self.session.execute(
            select(ServiceCredential)
            .where(ServiceCredential.workspace_id == workspace_id)
            .order_by(ServiceCredential.service)
        )
        return list(result.scalars())

    async def credential(self, workspace_id: UUID, service: str) -> ServiceCredential | None:
        return await self.session.get(ServiceCredential, (workspace_id, service))

    async def credential_counts(self) -> dict[str, int]:
        """Instance-wide (the doctor): how many workspaces bring their own app, per service."""
        result = await self.session.execute(
            select(ServiceCredential.service, func.count()).group_by(ServiceCredential.service)
        )
        return {row[0]: int(row[1]) for row in result}

    async def delete_credential(self, credential: ServiceCredential) -> None:
        await self.session.delete(credential)
        await self.session.flush()

    async def reject_credential(
        self, workspace_id: UUID, service: str, client_id: str, *, reason: str, at: datetime
    ) -> bool:
        """Mark the stored app refused, only if it is still ``client_id`` (not replaced)."""
        result = await self.session.execute(
            update(ServiceCredential)
            .where(
                ServiceCredential.workspace_id == workspace_id,
                ServiceCredential.service == service,
                ServiceCredential.client_id == client_id,
                ServiceCredential.rejected_reason.is_(None),
            )
            .values(rejected_reason=reason, rejected_at=at)
        )
        return bool(getattr(result, "rowcount", 0))

    async def rejected_credentials(self) -> list[ServiceCredential]:
        """Instance-wide (the doctor): every workspace app a service refused."""
        result = await self.session.execute(
            select(ServiceCredential)
            .where(ServiceCredential.rejected_reason.is_not(None))
            .order_by(ServiceCredential.service, ServiceCredential.workspace_id)
        )
        return list(result.scalars())

    async def grants_of_other_apps(
        self, workspace_id: UUID, service: str, current: str | None
    ) -> int:
        query = select(func.count()).where(
            ServiceGrant.workspace_id == workspace_id,
            ServiceGrant.service == service,
            ServiceGrant.revoked_at.is_(None),
            ServiceGrant.app_client_id.is_not(None),
        )
        if current is not None:
            query = query.where(ServiceGrant.app_client_id != current)
        return int((await self.session.execute(query)).scalar_one())
