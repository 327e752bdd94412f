"""A probe over every operation of the OpenAPI document: odd ids, odd bodies, odd
encodings. Whatever comes in, the answer is a 4xx (or a 2xx), never a 500.

Schemathesis is not installed here; this walks the same document with payloads chosen
to break parsers rather than at random.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.conftest import Api, make_link
from tests.builders import WorkspaceKey

ODD_IDS = [
    "not-a-uuid",
    "%00",
    "%C3%BC",
    "01a2378e-51a4-7389-8cf2-07f50adc0597",
    "x" * 300,
    "..%2F..%2Fetc%2Fpasswd",
]
ODD_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b"{}", "application/json"),
    (b'{"a":', "application/json"),
    (b"\xff\xfe\x00", "application/json"),
    (b"[" * 3000 + b"]" * 3000, "application/json"),
    (b'{"name": 1e999999, "title": -0, "slug": [], "hostname": {"$ne": null}}', "application/json"),
    (b'{"name": "\\ud800", "title": "\\u0000", "url": "javascript:alert(1)"}', "application/json"),
    (b"name=x&title=y", "application/x-www-form-urlencoded"),
    (b"<xml/>", "text/xml"),
]


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


async def test_no_operation_answers_500_to_odd_ids_or_bodies(
    api: Api, client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    document = (await client.get("/api/v1/openapi.json")).json()
    failures: list[str] = []
    tried = 0
    for method, template in _operations(document):
        paths = {re.sub(r"\{[^}]+\}", odd, template) for odd in ODD_IDS}
        paths.add(
            template.replace("{link_id}", link["id"])
            .replace("{release_id}", link["release_id"])
            .replace("{service_key}", "spotify")
        )
        for path in sorted(paths):
            bodies = ODD_BODIES if method in ("POST", "PUT", "PATCH") else [(b"", "")]
            for body, content_type in bodies:
                headers = {**owner.headers}
                if content_type:
                    headers["content-type"] = content_type
                response = await client.request(method, path, content=body, headers=headers)
                tried += 1
                if response.status_code >= 500:
                    failures.append(f"{method} {path} {body[:40]!r}: {response.status_code}")
    assert tried > 500
    assert failures == []


async def test_odd_query_strings_and_headers_are_4xx(
    client: httpx.AsyncClient, owner: WorkspaceKey
) -> None:
    probes: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/artists?limit=-1", owner.headers),
        ("/api/v1/artists?limit=99999999999999999999", owner.headers),
        ("/api/v1/artists?cursor=%FF%FE", owner.headers),
        ("/api/v1/artists?cursor=" + "A" * 5000, owner.headers),
        ("/api/v1/artists", {"authorization": "Bearer " + "x" * 5000}),
        ("/api/v1/artists", {"authorization": "Basic dXNlcjpwYXNz"}),
        ("/api/v1/artists", {"authorization": "Bearer ll_\u00ff\u00fe".encode("latin-1")}),
    ]
    for path, headers in probes:
        response = await client.get(path, headers=headers)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
