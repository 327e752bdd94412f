"""The JSON API fixtures (app, client, workspaces with keys) for the services endpoint tests."""

from tests.api.conftest import api, app, app_db, client, owner, settings  # noqa: F401
