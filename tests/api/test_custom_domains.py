"""Custom domains as their owner, a rival workspace and an attacker see them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from launchlink.app import Application
from launchlink.links.domains import OwnershipProver, PlainHttpProbe, public_address
from tests.api.conftest import Api, FakeDns, make_link, make_release, verified_domain
from tests.api.test_public_pages import IPHONE
from tests.builders import WorkspaceKey

HOST = "music.owner.test"


async def _claim(api: Api, who: WorkspaceKey, hostname: str = HOST) -> dict[str, Any]:
    response = await api.post(who, "/domains", {"hostname": hostname})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_new_domain_is_pending_with_what_proves_it_and_serves_nothing(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    claim = await _claim(api, owner)
    assert claim["status"] == "pending"
    token_value = claim["verification"]["dns_value"]
    assert token_value.startswith("launchlink-verification=")
    assert claim["verification"]["dns_name"] == f"_launchlink.{HOST}"
    assert claim["verification"]["http_body"] == token_value
    assert claim["verification"]["http_url"].startswith(f"http://{HOST}/.well-known/launchlink/")
    release = await make_release(api, owner)
    placed = await api.post(
        owner, "/links", {"release_id": release["id"], "slug": "night", "custom_domain": HOST}
    )
    assert placed.status_code == 422
    assert "not verified yet" in placed.json()["error"]["message"]
    root = await api.patch(owner, f"/domains/{claim['id']}", {"root_link_id": None})
    assert root.status_code == 409
    assert (await api.client.get("/night", headers={"host": HOST})).status_code == 404


async def test_verifying_without_the_record_says_what_was_looked_for(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    claim = await _claim(api, owner)
    response = await api.post(owner, f"/domains/{claim['id']}/verify", None)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "ownership_not_proven"
    assert f"no TXT record at _launchlink.{HOST}" in error["message"]
    assert "does not resolve" in error["message"]  # the HTTP proof was tried too
    assert (await api.get(owner, f"/domains/{claim['id']}")).json()["status"] == "pending"


async def test_a_txt_record_with_another_token_proves_nothing(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    claim = await _claim(api, owner)
    dns.publish(f"_launchlink.{HOST}", "launchlink-verification=someone-elses-token")
    response = await api.post(owner, f"/domains/{claim['id']}/verify", {"method": "dns"})
    assert response.status_code == 422
    assert "do not hold this domain's token" in response.json()["error"]["message"]


async def test_a_dns_proven_domain_serves_its_links(
    api: Api, owner: WorkspaceKey, dns: FakeDns
) -> None:
    domain = await verified_domain(api, dns, owner)
    assert domain["status"] == "verified"
    assert domain["verified_by"] == "dns"
    assert domain["verification"] is None
    link = await make_link(api, owner, slug="night")
    moved = await api.patch(owner, f"/links/{link['id']}", {"custom_domain": HOST})
    assert moved.status_code == 200, moved.text
    page = await api.client.get("/night", headers={"host": HOST, "user-agent": IPHONE})
    assert page.status_code == 200


async def test_a_rivals_pending_claim_blocks_nobody_and_the_first_to_prove_wins(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, dns: FakeDns
) -> None:
    squatter = await _claim(api, stranger)  # claimed first, but cannot prove it
    assert (await api.post(stranger, f"/domains/{squatter['id']}/verify", None)).status_code == 422
    await verified_domain(api, dns, owner)
    # Even a proof that arrives later (the domain changed hands) finds the domain held.
    dns.publish(squatter["verification"]["dns_name"], squatter["verification"]["dns_value"])
    late = await api.post(stranger, f"/domains/{squatter['id']}/verify", None)
    assert late.status_code == 409
    assert late.json()["error"] == {
        "code": "conflict",
        "message": f"{HOST} is already registered",
        "field": "hostname",
    }
    assert (await api.get(stranger, "/domains")).json()[0]["status"] == "pending"
    assert (await api.delete(stranger, f"/domains/{squatter['id']}")).status_code == 204


async def test_registration_answers_alike_whoever_holds_the_hostname(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, dns: FakeDns
) -> None:
    await verified_domain(api, dns, owner)
    await _claim(api, stranger, "pending.stranger.test")
    held_by_other = await api.post(stranger, "/domains", {"hostname": HOST})
    await _claim(api, stranger, "own.stranger.test")
    own_duplicate = await api.post(stranger, "/domains", {"hostname": "own.stranger.test"})
    assert held_by_other.status_code == own_duplicate.status_code == 409
    assert held_by_other.json()["error"].keys() == own_duplicate.json()["error"].keys()
    assert held_by_other.json()["error"]["message"] == f"{HOST} is already registered"
    # Another workspace's *pending* claim is not even hinted at: registering succeeds.
    assert (
        await api.post(owner, "/domains", {"hostname": "pending.stranger.test"})
    ).status_code == (201)
    # Nothing of the owner's domain shows in the stranger's list.
    hostnames = {d["hostname"] for d in (await api.get(stranger, "/domains")).json()}
    assert hostnames == {"pending.stranger.test", "own.stranger.test"}


async def test_this_instance_never_answers_a_verification_token_itself(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    claim = await _claim(api, stranger)
    path = claim["verification"]["http_url"].removeprefix(f"http://{HOST}")
    response = await api.client.get(path, headers={"host": HOST})
    assert response.status_code == 404
    assert claim["verification"]["http_body"] not in response.text


# -- the HTTP proof against a real local web server ---------------------------------------

Handler = Callable[[str, str], tuple[int, dict[str, str], bytes]]


@pytest.fixture
async def web_server() -> AsyncIterator[tuple[int, list[Handler]]]:
    """A plain HTTP/1.1 server on 127.0.0.1 standing in for the operator's web server."""
    handlers: list[Handler] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        path = request_line.split(" ")[1]
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        status, extra, body = handlers[0](path, headers.get("host", headers.get("Host", "")))
        lines = [f"HTTP/1.1 {status} X", f"content-length: {len(body)}", "connection: close"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port, handlers


def _probe_local(app: Application, dns: FakeDns, port: int) -> None:
    async def resolve(hostname: str) -> tuple[str, int]:
        assert hostname == HOST
        return "127.0.0.1", port

    app.context.domain_prover = OwnershipProver(txt=dns, http=PlainHttpProbe(resolve=resolve))


async def test_an_http_token_served_by_the_operators_server_proves_ownership(
    api: Api,
    app: Application,
    owner: WorkspaceKey,
    dns: FakeDns,
    web_server: tuple[int, list[Handler]],
) -> None:
    port, handlers = web_server
    _probe_local(app, dns, port)
    claim = await _claim(api, owner)
    token_path = claim["verification"]["http_url"].removeprefix(f"http://{HOST}")
    body = claim["verification"]["http_body"].encode() + b"\n"

    def handler(path: str, host: str) -> tuple[int, dict[str, str], bytes]:
        # Only for the right Host and path: the probe asks the domain, not the address.
        if host == HOST and path == token_path:
            return 200, {"content-type": "text/plain"}, body
        return 404, {}, b"no"

    handlers.append(handler)
    response = await api.post(owner, f"/domains/{claim['id']}/verify", {"method": "http"})
    assert response.status_code == 200, response.text
    assert response.json()["verified_by"] == "http"


@pytest.mark.parametrize(
    ("status", "headers", "body", "reason"),
    [
        (301, {"location": "https://music.owner.test/x"}, b"", "without a redirect"),
        (200, {}, b"internal admin console: db password hunter2", "not hold exactly"),
        (404, {}, b"not here", "HTTP 404"),
    ],
)
async def test_an_http_answer_that_is_not_the_token_proves_nothing_and_is_not_echoed(
    api: Api,
    app: Application,
    owner: WorkspaceKey,
    dns: FakeDns,
    web_server: tuple[int, list[Handler]],
    status: int,
    headers: dict[str, str],
    body: bytes,
    reason: str,
) -> None:
    port, handlers = web_server
    _probe_local(app, dns, port)
    handlers.append(lambda _path, _host: (status, headers, body))
    claim = await _claim(api, owner)
    response = await api.post(owner, f"/domains/{claim['id']}/verify", {"method": "http"})
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert reason in message
    assert "hunter2" not in message


async def test_the_http_proof_refuses_to_reach_private_addresses() -> None:
    with pytest.raises(LookupError, match="private addresses"):
        await public_address("localhost")
    result = await PlainHttpProbe().probe("localhost", "token")
    assert not result.matched
    assert "private addresses" in result.detail


async def test_an_answer_holding_more_than_the_token_proves_nothing(
    web_server: tuple[int, list[Handler]],
) -> None:
    port, handlers = web_server
    handlers.append(lambda _path, _host: (200, {}, b"launchlink-verification=t" + b"x" * 500_000))

    async def resolve(_hostname: str) -> tuple[str, int]:
        return "127.0.0.1", port

    result = await PlainHttpProbe(resolve=resolve).probe(HOST, "t")
    assert not result.matched
