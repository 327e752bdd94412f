"""The JSON API fixtures (app, client, workspaces with keys) for fulfilment's API tests."""

from tests.api.conftest import api, app, app_db, client, owner, settings, stranger  # noqa: F401
