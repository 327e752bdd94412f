"""The API's own description and docs page, the favicon and robots.txt."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests._server import running_server
from tests.builders import WorkspaceKey


async def test_the_openapi_document_declares_the_bearer_scheme_on_every_keyed_operation(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) > 30
    unsecured = [
        f"{method.upper()} {path}"
        for path, method, operation in operations
        if operation.get("security") != [{"bearerAuth": []}]
    ]
    assert unsecured == []
    # What the document says is what the API does: no key, a 401.
    for path, method, _ in operations:
        if method != "get":
            continue  # a body is read (and may be refused) before the key is checked
        concrete = re.sub(r"\{[^}]+\}", "01a2378e-51a4-7389-8cf2-07f50adc0597", path)
        response = await client.get(concrete)
        assert response.status_code == 401, (method, path, response.text)


async def test_the_docs_page_loads_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/static/api-docs/docs.js" in references
    for reference in references:
        assert not urlsplit(reference).netloc, reference  # same origin only
        assert (await client.get(reference)).status_code == 200, reference
    for asset in ("/static/api-docs/docs.js", "/static/api-docs/docs.css"):
        text = (await client.get(asset)).text
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), asset


async def test_the_favicon_is_a_real_icon(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    icon = response.content
    assert icon[:4] == b"\x00\x00\x01\x00"  # ICO header, type 1 (icon)
    assert int.from_bytes(icon[4:6], "little") >= 1
    assert b"\x89PNG" in icon
    assert (await client.head("/favicon.ico")).status_code == 200


async def test_robots_txt_opens_links_and_closes_the_api_and_fan_flows(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    rules = response.text.splitlines()
    assert "User-agent: *" in rules
    assert "Allow: /" in rules
    for closed in ("/api/", "/presave/", "/revoke/", "/oauth/", "/_dev/"):
        assert f"Disallow: {closed}" in rules


@pytest.mark.browser
@pytest.mark.slow
async def test_the_docs_page_renders_every_operation_offline_in_a_browser(
    tmp_path: Path, chromium_path: str
) -> None:
    from playwright.async_api import async_playwright

    with running_server({"LAUNCHLINK_VAR_DIR": str(tmp_path / "var")}) as server:
        document = httpx.get(f"{server.base_url}/api/v1/openapi.json").json()
        expected = sum(len(item) for item in document["paths"].values())
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = await browser.new_page()
                hosts: set[str] = set()
                errors: list[str] = []
                page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on(
                    "console",
                    lambda message: (
                        errors.append(message.text) if message.type == "error" else None
                    ),
                )
                await page.goto(f"{server.base_url}/api/v1/docs")
                await page.wait_for_selector("details.operation")
                shown = await page.locator("details.operation").count()
                locks = await page.locator("details.operation .lock").count()
                await page.locator("details.operation summary").first.click()
                opened = await page.locator("details.operation[open] table").count()
                title = await page.locator("#title").text_content()
            finally:
                await browser.close()
    assert errors == []
    assert hosts == {f"127.0.0.1:{server.port}"}
    assert shown == expected
    assert locks == expected
    assert opened >= 1
    assert title == "launchlink API"


async def test_the_platform_root_sends_the_operator_to_the_dashboard(
    client: httpx.AsyncClient,
) -> None:
    # Where `make run` says to go: a fresh instance must not answer its own root with a 404.
    for method in ("GET", "HEAD"):
        response = await client.request(method, "/")
        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard/"
    followed = await client.get("/", follow_redirects=True)
    assert followed.status_code == 200
    assert "text/html" in followed.headers["content-type"]
