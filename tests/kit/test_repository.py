"""The workspace-scoped repository: another workspace's rows are never found."""

from __future__ import annotations

from uuid import UUID

from launchlink.accounts import service as accounts
from launchlink.catalog.repository import ArtistRepository
from launchlink.db import Database
from launchlink.kit.ids import uuid7
from launchlink.links.repository import CustomDomainClaimRepository
from launchlink.models import Artist, CustomDomainClaim


async def _workspace(db: Database, name: str) -> UUID:
    async with db.transaction() as session:
        return (await accounts.create_workspace(session, name=name)).id


async def _artists(db: Database, workspace_id: UUID, *names: str) -> list[UUID]:
    async with db.transaction() as session:
        repository = ArtistRepository(session)
        return [
            (await repository.add(Artist(workspace_id=workspace_id, name=name))).id
            for name in names
        ]


async def test_get_finds_a_row_only_in_its_own_workspace(db: Database) -> None:
    mine, theirs = await _workspace(db, "Mine"), await _workspace(db, "Theirs")
    (artist_id,) = await _artists(db, mine, "Ada")
    async with db.transaction() as session:
        repository = ArtistRepository(session)
        found = await repository.get(mine, artist_id)
        assert found is not None
        assert found.name == "Ada"
        assert await repository.get(theirs, artist_id) is None
        assert await repository.get(mine, uuid7()) is None


async def test_get_many_leaves_out_other_workspaces_ids(db: Database) -> None:
    mine, theirs = await _workspace(db, "Mine"), await _workspace(db, "Theirs")
    my_ids = await _artists(db, mine, "Ada", "Bo")
    their_ids = await _artists(db, theirs, "Cy")
    async with db.transaction() as session:
        repository = ArtistRepository(session)
        found = await repository.get_many(mine, [*my_ids, *their_ids])
        assert sorted(a.id for a in found) == sorted(my_ids)
        assert await repository.get_many(mine, []) == []


async def test_list_page_walks_one_workspace_in_id_order_by_cursor(db: Database) -> None:
    mine, theirs = await _workspace(db, "Mine"), await _workspace(db, "Theirs")
    my_ids = await _artists(db, mine, "A", "B", "C", "D", "E")
    await _artists(db, theirs, "X", "Y")
    seen: list[UUID] = []
    cursor: str | None = None
    async with db.transaction() as session:
        repository = ArtistRepository(session)
        for _ in range(5):
            page = await repository.list_page(mine, cursor=cursor, limit=2)
            seen.extend(a.id for a in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == sorted(my_ids)


async def test_add_if_free_says_false_and_writes_nothing_on_a_unique_clash(
    db: Database,
) -> None:
    mine = await _workspace(db, "Mine")
    async with db.transaction() as session:
        claims = CustomDomainClaimRepository(session)
        first = CustomDomainClaim(
            workspace_id=mine, hostname="music.example.test", verification_token="a"
        )
        again = CustomDomainClaim(
            workspace_id=mine, hostname="music.example.test", verification_token="b"
        )
        assert await claims.add_if_free(first) is True
        assert await claims.add_if_free(again) is False
        rows = await claims.list_all(mine)
    assert [(r.hostname, r.verification_token) for r in rows] == [("music.example.test", "a")]


async def test_delete_removes_the_row(db: Database) -> None:
    mine = await _workspace(db, "Mine")
    (artist_id,) = await _artists(db, mine, "Ada")
    async with db.transaction() as session:
        repository = ArtistRepository(session)
        artist = await repository.get(mine, artist_id)
        assert artist is not None
        await repository.delete(artist)
    async with db.transaction() as session:
        assert await ArtistRepository(session).get(mine, artist_id) is None
