"""Plain psycopg access to a test's PostgreSQL database, for tests that watch worker
processes from outside (they must not share the processes' SQLAlchemy engine)."""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy.engine import make_url


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://...`` → the ``postgresql://...`` libpq understands."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


def connect(sqlalchemy_url: str, **options: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(libpq_url(sqlalchemy_url), **options)


def scalar(sqlalchemy_url: str, sql: str, params: tuple[Any, ...] = ()) -> int:
    """The first column of the first row as an int, or -1 when there is no row."""
    with connect(sqlalchemy_url) as connection:
        row = connection.execute(sql, params).fetchone()
    return int(row[0]) if row else -1
