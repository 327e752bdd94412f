"""Proving that a workspace controls a custom domain, before the domain serves anything.

Two proofs, either is enough:

* **DNS**: a TXT record at ``_launchlink.<hostname>`` whose value is
  ``launchlink-verification=<token>``.
* **HTTP**: ``http://<hostname>/.well-known/launchlink/<token>`` answering exactly that
  same value. This instance never answers that path itself (``/.well-known`` is not
  served), so a domain already pointed at this instance for another workspace cannot be
  proven by someone else: the operator places the file on the web server in front.

Ports and adapters: :class:`TxtResolver` (real adapter :class:`UdpTxtResolver`, a small
RFC 1035 client over UDP with TCP on truncation: dnspython is not a dependency) and
:class:`HttpTokenProbe` (real adapter :class:`PlainHttpProbe`). Tests use an in-memory
resolver and a local HTTP server.

The HTTP probe fetches a URL whose host the operator chose, so it is kept narrow: the
hostname is resolved once and must be a public address (no loopback, private or
link-local target: this is not a way to reach the instance's own network), the request
goes to that address with the hostname as ``Host``, redirects are not followed, at most
:data:`MAX_PROBE_BYTES` are read, and the only thing reported back is whether the token
matched and the HTTP status, never the body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from launchlink.models.links import DomainProof

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "launchlink-verification="  # noqa: S105  (a label, not a secret)
DNS_LABEL = "_launchlink"
WELL_KNOWN_PATH = "/.well-known/launchlink/"
MAX_PROBE_BYTES = 1024
DNS_TIMEOUT_SECONDS = 3.0
HTTP_TIMEOUT_SECONDS = 5.0


def new_token() -> str:
    return secrets.token_urlsafe(24)


def expected_value(token: str) -> str:
    return f"{TOKEN_PREFIX}{token}"


def dns_name(hostname: str) -> str:
    return f"{DNS_LABEL}.{hostname}"


def http_url(hostname: str, token: str) -> str:
    return f"http://{hostname}{WELL_KNOWN_PATH}{token}"


class DnsLookupFailed(Exception):
    """The resolver could not answer (timeout, SERVFAIL...); not the same as "no record"."""


class TxtResolver(Protocol):
    async def txt_records(self, name: str) -> list[str]:
        """The TXT values at ``name`` (each record's strings joined); [] when none exist.

        Raises :class:`DnsLookupFailed` when no answer could be had.
        """
        ...


@dataclass(frozen=True)
class ProbeResult:
    matched: bool
    detail: str
    """Why it did not match, for the operator (status code or failure kind; no body)."""


class HttpTokenProbe(Protocol):
    async def probe(self, hostname: str, token: str) -> ProbeResult: ...


@dataclass(frozen=True)
class Attempt:
    method: DomainProof
    proven: bool
    detail: str


class OwnershipProver:
    """Tries the requested proofs in order and says which one succeeded, if any."""

    def __init__(self, *, txt: TxtResolver, http: HttpTokenProbe) -> None:
        self.txt = txt
        self.http = http

    async def prove(
        self, hostname: str, token: str, methods: Sequence[DomainProof]
    ) -> list[Attempt]:
        attempts: list[Attempt] = []
        for method in methods:
            attempt = await (self._dns if method is DomainProof.dns else self._http)(
                hostname, token
            )
            attempts.append(attempt)
            if attempt.proven:
                break
        return attempts

    async def _dns(self, hostname: str, token: str) -> Attempt:
        name = dns_name(hostname)
        try:
            values = await self.txt.txt_records(name)
        except DnsLookupFailed as error:
            return Attempt(DomainProof.dns, False, f"the DNS lookup of {name} failed ({error})")
        if expected_value(token) in (value.strip() for value in values):
            return Attempt(DomainProof.dns, True, f"TXT record found at {name}")
        if not values:
            return Attempt(DomainProof.dns, False, f"no TXT record at {name}")
        return Attempt(
            DomainProof.dns, False, f"the TXT records at {name} do not hold this domain's token"
        )

    async def _http(self, hostname: str, token: str) -> Attempt:
        result = await self.http.probe(hostname, token)
        return Attempt(DomainProof.http, result.matched, result.detail)


# -- DNS: a minimal TXT client -------------------------------------------------------------

_TYPE_TXT = 16
_CLASS_IN = 1
_RCODE_NXDOMAIN = 3


def system_nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    servers = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            servers.append(parts[1].split("%", 1)[0])
    return servers


def build_query(query_id: int, name: str) -> bytes:
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # RD set, one question
    labels = b"".join(
        bytes([len(label)]) + label for label in name.rstrip(".").encode("idna").split(b".")
    )
    return header + labels + b"\x00" + struct.pack("!HH", _TYPE_TXT, _CLASS_IN)


def _skip_name(packet: bytes, offset: int) -> int:
    while True:
        if offset >= len(packet):
            raise DnsLookupFailed("truncated name in the answer")
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2  # a compression pointer ends the name
        if length == 0:
            return offset + 1
        offset += 1 + length


def parse_txt_answer(packet: bytes, query_id: int) -> tuple[list[str], bool]:
    """(TXT values, truncated?) of a DNS response to our query."""
    if len(packet) < 12:
        raise DnsLookupFailed("short answer")
    answer_id, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", packet[:12])
    if answer_id != query_id or not flags & 0x8000:
        raise DnsLookupFailed("an answer to another query")
    if flags & 0x0200:
        return [], True
    rcode = flags & 0x000F
    if rcode == _RCODE_NXDOMAIN:
        return [], False
    if rcode != 0:
        raise DnsLookupFailed(f"the resolver answered error code {rcode}")
    offset = 12
    for _ in range(questions):
        offset = _skip_name(packet, offset) + 4
    values: list[str] = []
    for _ in range(answers):
        offset = _skip_name(packet, offset)
        if offset + 10 > len(packet):
            raise DnsLookupFailed("truncated record in the answer")
        record_type, record_class, _, length = struct.unpack("!HHIH", packet[offset : offset + 10])
        offset += 10
        data = packet[offset : offset + length]
        offset += length
        if record_type != _TYPE_TXT or record_class != _CLASS_IN:
            continue  # e.g. the CNAME a TXT lookup may pass through
        strings, position = [], 0
        while position < len(data):
            size = data[position]
            strings.append(data[position + 1 : position + 1 + size])
            position += 1 + size
        values.append(b"".join(strings).decode("utf-8", errors="replace"))
    return values, False


class _UdpExchange(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


class UdpTxtResolver:
    """TXT lookups against a recursive resolver (``/etc/resolv.conf`` unless given)."""

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        *,
        port: int = 53,
        timeout: float = DNS_TIMEOUT_SECONDS,
    ) -> None:
        self.nameservers = list(nameservers) if nameservers else system_nameservers()
        self.port = port
        self.timeout = timeout

    async def txt_records(self, name: str) -> list[str]:
        if not self.nameservers:
            raise DnsLookupFailed("no DNS resolver configured (LAUNCHLINK_DNS_RESOLVER)")
        failures = []
        for server in self.nameservers:
            try:
                return await asyncio.wait_for(self._ask(server, name), self.timeout)
            except (TimeoutError, OSError, DnsLookupFailed) as error:
                failures.append(f"{server}: {str(error) or type(error).__name__}")
        raise DnsLookupFailed("; ".join(failures))

    async def _ask(self, server: str, name: str) -> list[str]:
        query_id = secrets.randbits(16)
        query = build_query(query_id, name)
        loop = asyncio.get_running_loop()
        transport, exchange = await loop.create_datagram_endpoint(
            _UdpExchange, remote_addr=(server, self.port)
        )
        try:
            transport.sendto(query)
            values, truncated = parse_txt_answer(await exchange.answer, query_id)
        finally:
            transport.close()
        if not truncated:
            return values
        reader, writer = await asyncio.open_connection(server, self.port)
        try:
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            values, _ = parse_txt_answer(await reader.readexactly(length), query_id)
            return values
        finally:
            writer.close()


# -- HTTP: the token file ------------------------------------------------------------------

AddressResolver = Callable[[str], Awaitable[tuple[str, int]]]


async def public_address(hostname: str) -> tuple[str, int]:
    """The first public address of ``hostname`` on port 80; refuses private networks."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(hostname, 80, type=socket.SOCK_STREAM)
    except OSError:
        raise LookupError(f"{hostname} does not resolve") from None
    for _family, _type, _proto, _name, address in found:
        if ipaddress.ip_address(address[0]).is_global:
            return str(address[0]), 80
    raise LookupError(f"{hostname} resolves only to private addresses")


class PlainHttpProbe:
    """Fetches the token over plain HTTP from the hostname's (public) address."""

    def __init__(
        self,
        *,
        resolve: AddressResolver = public_address,
        timeout: float = HTTP_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.resolve = resolve
        self.timeout = timeout
        self.transport = transport

    async def probe(self, hostname: str, token: str) -> ProbeResult:
        shown = http_url(hostname, token)
        try:
            address, port = await self.resolve(hostname)
        except LookupError as error:
            return ProbeResult(False, str(error))
        host = f"[{address}]" if ":" in address else address
        url = f"http://{host}:{port}{WELL_KNOWN_PATH}{token}"
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=False, transport=self.transport
                ) as client,
                client.stream("GET", url, headers={"host": hostname}) as response,
            ):
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_PROBE_BYTES:
                        break
        except httpx.HTTPError as error:
            return ProbeResult(False, f"{shown} could not be fetched ({type(error).__name__})")
        if response.status_code != 200:
            hint = " (serve it directly, without a redirect)" if response.is_redirect else ""
            return ProbeResult(False, f"{shown} answered HTTP {response.status_code}{hint}")
        if body[: MAX_PROBE_BYTES + 1].decode("utf-8", errors="replace").strip() != (
            expected_value(token)
        ):
            return ProbeResult(False, f"{shown} does not hold exactly the expected value")
        return ProbeResult(True, f"{shown} holds the token")


def default_prover(nameserver: str | None) -> OwnershipProver:
    """The real adapters: the system's (or the configured) DNS resolver, plain HTTP."""
    return OwnershipProver(
        txt=UdpTxtResolver([nameserver] if nameserver else None), http=PlainHttpProbe()
    )
