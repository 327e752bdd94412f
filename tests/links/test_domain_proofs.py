"""The real DNS adapter (a small TXT client) against a local DNS server over UDP and TCP."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from launchlink.links.domains import DnsLookupFailed, UdpTxtResolver, system_nameservers

NAME = "_launchlink.music.owner.test"


@dataclass
class Zone:
    """What the local server answers: TXT records (each a list of character-strings)."""

    records: dict[str, list[list[bytes]]] = field(default_factory=dict)
    rcode: int = 0
    truncate_udp: bool = False
    silent: bool = False
    cname_first: bool = False
    queries: list[str] = field(default_factory=list)


def _question_end(packet: bytes) -> tuple[str, int]:
    offset, labels = 12, []
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1 : offset + 1 + length].decode())
        offset += 1 + length
    return ".".join(labels), offset + 5


def _answer(zone: Zone, query: bytes, *, over_udp: bool) -> bytes:
    query_id = struct.unpack("!H", query[:2])[0]
    name, end = _question_end(query)
    zone.queries.append(name)
    question = query[12:end]
    if over_udp and zone.truncate_udp:
        return struct.pack("!HHHHHH", query_id, 0x8380, 1, 0, 0, 0) + question
    records = zone.records.get(name, [])
    answers = b""
    count = 0
    if zone.cname_first and records:
        target = b"\x05other\x04test\x00"
        answers += b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, len(target)) + target
        count += 1
    for strings in records:
        data = b"".join(bytes([len(s)]) + s for s in strings)
        # \xc0\x0c: a compression pointer back to the question's name.
        answers += b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(data)) + data
        count += 1
    flags = 0x8180 | zone.rcode
    return struct.pack("!HHHHHH", query_id, flags, 1, count, 0, 0) + question + answers


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if not self.zone.silent and self.transport is not None:
            self.transport.sendto(_answer(self.zone, data, over_udp=True), addr)


@pytest.fixture
async def dns_server() -> AsyncIterator[tuple[Zone, int]]:
    zone = Zone()

    async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        reply = _answer(zone, await reader.readexactly(length), over_udp=False)
        writer.write(struct.pack("!H", len(reply)) + reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(tcp, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(zone), local_addr=("127.0.0.1", port))
    try:
        yield zone, port
    finally:
        udp.close()
        server.close()
        await server.wait_closed()


def _resolver(port: int, timeout: float = 2.0) -> UdpTxtResolver:
    return UdpTxtResolver(["127.0.0.1"], port=port, timeout=timeout)


async def test_txt_values_are_read_and_their_strings_joined(dns_server: tuple[Zone, int]) -> None:
    zone, port = dns_server
    zone.records[NAME] = [
        [b"launchlink-verification=", b"abc123"],
        [b"v=spf1 -all"],
    ]
    values = await _resolver(port).txt_records(NAME)
    assert values == ["launchlink-verification=abc123", "v=spf1 -all"]
    assert zone.queries == [NAME]


async def test_a_cname_in_the_answer_is_skipped(dns_server: tuple[Zone, int]) -> None:
    zone, port = dns_server
    zone.records[NAME] = [[b"launchlink-verification=abc"]]
    zone.cname_first = True
    assert await _resolver(port).txt_records(NAME) == ["launchlink-verification=abc"]


async def test_a_truncated_udp_answer_is_asked_again_over_tcp(
    dns_server: tuple[Zone, int],
) -> None:
    zone, port = dns_server
    zone.records[NAME] = [[b"x" * 200] for _ in range(5)]
    zone.truncate_udp = True
    values = await _resolver(port).txt_records(NAME)
    assert values == ["x" * 200] * 5
    assert zone.queries == [NAME, NAME]


async def test_a_name_that_does_not_exist_has_no_records(dns_server: tuple[Zone, int]) -> None:
    zone, port = dns_server
    zone.rcode = 3  # NXDOMAIN
    assert await _resolver(port).txt_records(NAME) == []


async def test_a_resolver_error_is_a_failed_lookup_not_an_empty_answer(
    dns_server: tuple[Zone, int],
) -> None:
    zone, port = dns_server
    zone.rcode = 2  # SERVFAIL
    with pytest.raises(DnsLookupFailed, match="error code 2"):
        await _resolver(port).txt_records(NAME)


async def test_a_silent_resolver_times_out(dns_server: tuple[Zone, int]) -> None:
    zone, port = dns_server
    zone.silent = True
    with pytest.raises(DnsLookupFailed, match=r"127\.0\.0\.1: TimeoutError"):
        await _resolver(port, timeout=0.3).txt_records(NAME)


def test_the_system_nameservers_come_from_resolv_conf(tmp_path: object) -> None:
    from pathlib import Path

    conf = Path(str(tmp_path)) / "resolv.conf"
    conf.write_text("# comment\nsearch example\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\n")
    assert system_nameservers(conf) == ["10.0.0.2", "fe80::1"]
    assert system_nameservers(Path(str(tmp_path)) / "missing") == []
