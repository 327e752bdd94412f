"""All SQL lives in repositories: an AST walk of src/ finds any query written elsewhere.

A query is a call of SQLAlchemy's ``select``/``insert``/``update``/``delete``/``text``
(imported from any ``sqlalchemy`` module, or through a module alias such as ``sa.select``)
or a statement run on a session or connection (``.execute``, ``.scalar``, ``.scalars``,
``.stream``, ``.exec_driver_sql``), or a session's own persistence calls (``.get``,
``.get_one``, ``.add``, ``.add_all``, ``.delete``, ``.merge``, ``.refresh``): loading a row
by key and adding one are data access too, and belong with the queries that read the same
rows. Transaction control (``commit``, ``rollback``, ``flush``, savepoints) is the unit of
work's and is not flagged. Repositories are modules named ``repository.py`` or
inside a ``repositories/`` package; migrations are SQL by nature. The few other modules
allowed to hold SQL are listed in ``EXCEPTIONS`` (a name ending in ``/`` is a package),
each with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import launchlink

SOURCE = Path(launchlink.__file__).parent

CONSTRUCTS = frozenset({"select", "insert", "update", "delete", "text"})
STATEMENT_RUNNERS = frozenset(
    {"execute", "scalar", "scalars", "stream", "stream_scalars", "exec_driver_sql"}
)
RECEIVER_WORDS = ("session", "connection", "conn")
SESSION_CALLS = frozenset({"get", "get_one", "add", "add_all", "delete", "merge", "refresh"})
"""Flagged only on a session itself (``session``, ``self.session``, ``db_session``): ``get``
and ``add`` are common names (dicts, sets, repositories built from a session)."""

EXCEPTIONS: dict[str, str] = {
    "db.py": "the engine itself: SQLite PRAGMAs on every new connection, before any session",
    "kit/pglisten.py": "LISTEN on a raw psycopg connection held open outside SQLAlchemy",
    "models/": "text() in index predicates and server defaults of table definitions: DDL",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def is_repository(relative: str) -> bool:
    parts = relative.split("/")
    return parts[-1] == "repository.py" or "repositories" in parts[:-1]


def _excepted(relative: str) -> bool:
    return any(
        relative == place or (place.endswith("/") and relative.startswith(place))
        for place in EXCEPTIONS
    )


def allowed(relative: str) -> bool:
    return relative.startswith("migrations/") or is_repository(relative) or _excepted(relative)


def _sqlalchemy_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(construct names imported from sqlalchemy, aliases of sqlalchemy modules)."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in CONSTRUCTS:
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    modules.add(alias.asname or alias.name.split(".")[0])
    return names, modules


def _is_session(receiver: ast.expr) -> bool:
    """``session``, ``self.session``, ``db_session``: a name, not a call's result nor a
    ``session.info`` dict nor ``sessions`` (a repository of user sessions)."""
    if isinstance(receiver, ast.Name):
        return receiver.id.lower().endswith("session")
    if isinstance(receiver, ast.Attribute):
        return receiver.attr.lower().endswith("session")
    return False


def queries_in(source: str, relative: str) -> list[Finding]:
    tree = ast.parse(source)
    names, modules = _sqlalchemy_names(tree)
    found: list[Finding] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in names:
            found.append(Finding(relative, node.lineno, f"{func.id}("))
        elif isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            construct = func.attr in CONSTRUCTS and receiver in modules
            statement = func.attr in STATEMENT_RUNNERS and any(
                word in receiver.lower() for word in RECEIVER_WORDS
            )
            persistence = func.attr in SESSION_CALLS and _is_session(func.value)
            if construct or statement or persistence:
                found.append(Finding(relative, node.lineno, f"{receiver}.{func.attr}("))
    return found


def scan(root: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if not allowed(relative):
            findings.extend(queries_in(path.read_text(encoding="utf-8"), relative))
    return findings


def test_no_sql_outside_repositories() -> None:
    findings = scan(SOURCE)
    assert not findings, "SQL outside a repository (move it into one):\n" + "\n".join(
        str(f) for f in findings
    )


def test_every_exception_still_exists_and_still_needs_its_place() -> None:
    for place in EXCEPTIONS:
        paths = sorted((SOURCE / place).rglob("*.py")) if place.endswith("/") else [SOURCE / place]
        assert all(path.is_file() for path in paths), f"{place} is gone: drop it from EXCEPTIONS"
        found = [
            finding
            for path in paths
            for finding in queries_in(
                path.read_text(encoding="utf-8"), path.relative_to(SOURCE).as_posix()
            )
        ]
        assert found, f"{place} holds no SQL any more: drop it from EXCEPTIONS"


def test_the_walk_sees_each_kind_of_query() -> None:
    source = """
import sqlalchemy as sa
from sqlalchemy import select, text as raw
async def f(session, conn, redis):
    select(X)
    raw("SELECT 1")
    sa.update(X)
    await session.execute(q)
    await self.session.scalar(q)
    await conn.exec_driver_sql("PRAGMA x")
    await redis.execute("GET", "k")
    sorted(select_like)
    await session.get(Link, link_id)
    self.session.add(row)
    await db_session.refresh(row)
    session.info.get("key")
    sessions.add(row)
    Repository(session).get(row_id)
    cache.get(key)
    await session.flush()
"""
    found = sorted(f.what for f in queries_in(source, "somewhere.py"))
    assert found == sorted(
        [
            "select(",
            "raw(",
            "sa.update(",
            "session.execute(",
            "self.session.scalar(",
            "conn.exec_driver_sql(",
            "session.get(",
            "self.session.add(",
            "db_session.refresh(",
        ]
    )


def test_repositories_and_migrations_are_where_sql_belongs() -> None:
    assert allowed("links/repository.py")
    assert allowed("outbox/repositories/claims.py")
    assert allowed("migrations/versions/0001_catalogue_links_and_accounts.py")
    assert not allowed("links/service.py")
    assert not allowed("repository_helpers.py")
    assert allowed("models/messaging.py")
    assert not allowed("models_helpers.py")
