"""An API over real databases whose auto-fill talks to the in-process simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from launchlink.api import create_api
from launchlink.autofill.sources import get_lookup_sources
from launchlink.bootstrap import build_context
from launchlink.config import Settings
from launchlink.context import AppContext
from launchlink.kit.clock import FrozenClock
from tests.api.conftest import Api
from tests.autofill.world import NOW, World, make_world
from tests.builders import WorkspaceKey, create_workspace_with_key


@pytest.fixture
async def world() -> AsyncIterator[World]:
    built = make_world()
    yield built
    await built.close()


@pytest.fixture
async def context(database_url: str, tmp_path: Path) -> AsyncIterator[AppContext]:
    settings = Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        public_url="https://links.example.test",
        environment="test",
    )
    built = build_context(settings, clock=FrozenClock(NOW))
    yield built
    await built.database.dispose()


@pytest.fixture
def api_app(context: AppContext, world: World) -> FastAPI:
    app = create_api(context)
    app.dependency_overrides[get_lookup_sources] = lambda: world.sources
    return app


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://links.example.test") as c:
        yield Api(c)


@pytest.fixture
async def owner(context: AppContext) -> WorkspaceKey:
    return await create_workspace_with_key(context.database, name="Owner Records")


@pytest.fixture
async def stranger(context: AppContext) -> WorkspaceKey:
    return await create_workspace_with_key(context.database, name="Stranger Records")
