"""Raw events of a link as CSV or Parquet, streamed chunk by chunk.

Rows are read by keyset pagination (5,000 at a time) in their own session and written
out as they come: a CSV chunk, or one Parquet row group per chunk (pyarrow writes the
footer at the end), so memory stays flat however many events a link has. The day's
visitor hash is left out: an export is for counting, not for following anyone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from launchlink.analytics.repository import AnalyticsRepository
from launchlink.db import Database

ExportFormat = Literal["csv", "parquet"]
EXPORT_COLUMNS: tuple[str, ...] = (
    "id", "ts", "kind", "service", "phase", "automatic", "reason", "bot_class", "bot_reason",
    "device_class", "os", "browser", "in_app", "country", "source", "referrer_host", "channel",
    "utm_source", "utm_medium", "utm_campaign", "classifier_version", "user_agent", "method",
)  # fmt: skip
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


async def _chunks(
    database: Database, link_id: UUID, start: datetime, end: datetime
) -> AsyncIterator[list[dict[str, Any]]]:
    async with database.sessionmaker() as session:
        async for rows in AnalyticsRepository(session).stream_events(link_id, start, end):
            yield rows


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A spreadsheet would run it as a formula (CSV injection): quote it as text.
        return "'" + value
    return value


async def csv_stream(
    database: Database, link_id: UUID, start: datetime, end: datetime
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    async for rows in _chunks(database, link_id, start, end):
        for row in rows:
            writer.writerow([_csv_cell(row[name]) for name in EXPORT_COLUMNS])
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


class _Sink:
    """A write-only file for pyarrow whose bytes are handed on after each row group."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _schema() -> Any:
    import pyarrow as pa

    types = {"id": pa.int64(), "ts": pa.timestamp("us", tz="UTC"), "automatic": pa.bool_(),
             "classifier_version": pa.int16()}  # fmt: skip
    return pa.schema([(name, types.get(name, pa.string())) for name in EXPORT_COLUMNS])


async def parquet_stream(
    database: Database, link_id: UUID, start: datetime, end: datetime
) -> AsyncIterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for rows in _chunks(database, link_id, start, end):
            columns = {name: [row[name] for row in rows] for name in EXPORT_COLUMNS}
            writer.write_table(pa.table(columns, schema=schema))
            yield sink.drain()
    finally:
        writer.close()
    yield sink.drain()


def export_stream(
    export_format: ExportFormat, database: Database, link_id: UUID, start: datetime, end: datetime
) -> AsyncIterator[bytes]:
    if export_format == "parquet":
        return parquet_stream(database, link_id, start, end)
    return csv_stream(database, link_id, start, end)
