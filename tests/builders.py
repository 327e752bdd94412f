"""Small keyword-only builders for test data, going through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from launchlink.accounts import service as accounts
from launchlink.db import Database
from launchlink.models.accounts import Role


@dataclass(frozen=True)
class WorkspaceKey:
    workspace_id: UUID
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_workspace_with_key(
    database: Database, *, name: str = "Test Records", role: Role = Role.admin
) -> WorkspaceKey:
    async with database.transaction() as session:
        workspace = await accounts.create_workspace(session, name=name)
        issued = await accounts.issue_api_key(
            session, workspace_id=workspace.id, name="tests", role=role
        )
    return WorkspaceKey(workspace_id=workspace.id, api_key=issued.plaintext)
