"""The web kit from the outside: static files, error pages, forms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, Field

from launchlink.app import create_app
from launchlink.config import Settings
from launchlink.web.forms import EmailAddress, validate
from launchlink.web.static import static_url


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{(tmp_path / 'x.sqlite3').as_posix()}",
        var_dir=tmp_path / "var",
        environment="test",
    )
    application = create_app(settings)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
        yield c
    await application.shutdown()


async def test_a_versioned_static_file_is_cached_for_a_year(client: httpx.AsyncClient) -> None:
    response = await client.get(static_url("web/htmx.min.js"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "htmx" in response.text


async def test_an_unversioned_static_file_revalidates(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/web/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=0, must-revalidate"


def test_the_version_changes_with_the_content() -> None:
    css = Path(__file__).parents[2] / "src/launchlink/static/web/app.css"
    import hashlib

    assert static_url("web/app.css").endswith(hashlib.sha256(css.read_bytes()).hexdigest()[:12])


async def test_a_browser_lost_outside_the_api_gets_an_html_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs/nothing-here", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Nothing here</h1>" in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]


async def test_the_api_keeps_answering_json_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nowhere", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


class _Signup(BaseModel):
    email: EmailAddress
    name: str = Field(min_length=1, max_length=20)


def test_a_form_reports_every_bad_field_by_name() -> None:
    result = validate(_Signup, {"email": "not-an-address", "name": ""})
    assert not result.ok
    assert set(result.errors) == {"email", "name"}
    assert result.values["email"] == "not-an-address"


def test_a_good_form_parses() -> None:
    result = validate(_Signup, {"email": "ada@example.com", "name": "Ada"})
    assert result.ok
    assert result.data is not None
    assert result.data.email == "ada@example.com"
