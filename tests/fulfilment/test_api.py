"""Fulfilment through the JSON API: standing fans queued by a new link, progress, report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from launchlink.db import Database
from launchlink.models.presave import (
    Fan,
    Presave,
    PresaveEvent,
    PresaveState,
    ServiceGrant,
    ServiceMode,
)
from tests.api.conftest import Api, artist_body, release_body
from tests.builders import WorkspaceKey

LATER = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)


async def _fan_with_grant(
    database: Database,
    who: WorkspaceKey,
    *,
    standing: bool,
    artist_ids: list[str] | None = None,
    email: str | None = None,
) -> UUID:
    async with database.transaction() as session:
        fan = Fan(workspace_id=who.workspace_id, email=email, country="US")
        session.add(fan)
        await session.flush()
        session.add(
            ServiceGrant(
                workspace_id=who.workspace_id,
                fan_id=fan.id,
                service="spotify",
                account_id=f"acct-{fan.id.hex}",
                access_token=b"sealed-access",
                refresh_token=b"sealed-refresh",
                scopes=["user-library-modify", "user-follow-modify"],
                standing=standing,
                standing_artist_ids=artist_ids or [],
            )
        )
        return fan.id


async def _release_with_link(api: Api, who: WorkspaceKey, *, slug: str) -> tuple[str, str, str]:
    artist = await api.post(who, "/artists", artist_body(service_ids={"spotify": "0TnOYIS"}))
    artist_id = artist.json()["id"]
    release = await api.post(
        who, "/releases", release_body([artist_id], release_instant=LATER.isoformat())
    )
    assert release.status_code == 201, release.text
    link = await api.post(who, "/links", {"release_id": release.json()["id"], "slug": slug})
    assert link.status_code == 201, link.text
    return artist_id, release.json()["id"], link.json()["id"]


async def test_a_new_link_queues_fans_with_a_standing_authorisation(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, app_db: Database
) -> None:
    loyal = await _fan_with_grant(app_db, owner, standing=True)
    await _fan_with_grant(app_db, owner, standing=False)
    await _fan_with_grant(app_db, stranger, standing=True)  # another workspace's fan

    _artist, release_id, link_id = await _release_with_link(api, owner, slug="next-one")

    progress = (await api.get(owner, f"/releases/{release_id}/fulfilment")).json()
    assert (progress["total"], progress["pending"], progress["done"]) == (1, 0, 0)
    [spotify] = progress["services"]
    assert (spotify["service"], spotify["scheduled"]) == ("spotify", 1)
    report = (await api.get(owner, f"/links/{link_id}/fulfilment-report")).json()
    [row] = report["rows"]
    assert (row["fan_id"], row["state"], row["service"]) == (str(loyal), "waiting", "spotify")
    assert datetime.fromisoformat(row["due_at"]) == LATER
    async with app_db.transaction() as session:
        presave = await session.scalar(select(Presave).where(Presave.fan_id == loyal))
        assert presave is not None
        events = (
            await session.scalars(
                select(PresaveEvent.reason).where(PresaveEvent.presave_id == presave.id)
            )
        ).all()
    assert presave.standing
    assert presave.mode == ServiceMode.direct_save
    assert presave.actions == {"save_release": True, "follow": [_artist]}
    assert events == ["queued from a standing authorisation"]


async def test_a_second_link_or_another_artist_queues_nobody_again(
    api: Api, owner: WorkspaceKey, app_db: Database
) -> None:
    await _fan_with_grant(app_db, owner, standing=True)
    await _fan_with_grant(app_db, owner, standing=True, artist_ids=[str(UUID(int=7))])
    _artist, release_id, _link = await _release_with_link(api, owner, slug="first")

    again = await api.post(owner, "/links", {"release_id": release_id, "slug": "second"})

    assert again.status_code == 201, again.text
    progress = (await api.get(owner, f"/releases/{release_id}/fulfilment")).json()
    assert progress["total"] == 1  # the fan following another artist is not queued


async def _finish(database: Database, fan_id: UUID, state: PresaveState, reason: str) -> None:
    outcome: dict[str, Any] = {
        "actions": [{"action": "save_release", "status": "done", "reason": None}]
    }
    async with database.transaction() as session:
        presave = await session.scalar(select(Presave).where(Presave.fan_id == fan_id))
        assert presave is not None
        presave.state, presave.final_reason, presave.outcome = state, reason, outcome
        presave.finished_at = datetime.now(UTC)


async def test_progress_and_report_show_each_fans_outcome_as_json_and_csv(
    api: Api, owner: WorkspaceKey, app_db: Database
) -> None:
    saved = await _fan_with_grant(app_db, owner, standing=True, email="saved@example.test")
    gone = await _fan_with_grant(app_db, owner, standing=True)
    _artist, release_id, link_id = await _release_with_link(api, owner, slug="outcomes")
    await _finish(app_db, saved, PresaveState.done, "saved")
    await _finish(app_db, gone, PresaveState.needs_reauth, "the grant was revoked")

    progress = (await api.get(owner, f"/releases/{release_id}/fulfilment")).json()
    as_json = await api.get(owner, f"/links/{link_id}/fulfilment-report?format=json")
    as_csv = await api.get(owner, f"/links/{link_id}/fulfilment-report?format=csv")

    [spotify] = progress["services"]
    assert (progress["total"], progress["done"], spotify["needs_reauth"]) == (2, 1, 1)
    assert progress["eta_seconds"] == 0
    by_fan = {row["fan_id"]: row for row in as_json.json()["rows"]}
    assert by_fan[str(saved)]["state"] == "done"
    assert by_fan[str(saved)]["actions"][0]["action"] == "save_release"
    assert (by_fan[str(gone)]["state"], by_fan[str(gone)]["reason"]) == (
        "needs_reauth",
        "the grant was revoked",
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert f"fulfilment-{link_id}.csv" in as_csv.headers["content-disposition"]
    rows = {row["fan_id"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    assert rows[str(saved)]["fan_email"] == "saved@example.test"
    assert rows[str(saved)]["actions"] == "save_release=done"
    assert rows[str(gone)]["state"] == "needs_reauth"


async def test_another_workspaces_release_and_link_are_not_found(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey, app_db: Database
) -> None:
    await _fan_with_grant(app_db, owner, standing=True, email="private@example.test")
    _artist, release_id, link_id = await _release_with_link(api, owner, slug="private")

    for path in (
        f"/releases/{release_id}/fulfilment",
        f"/links/{link_id}/fulfilment-report",
        f"/links/{link_id}/fulfilment-report?format=csv",
        f"/releases/{UUID(int=1)}/fulfilment",
        f"/links/{UUID(int=1)}/fulfilment-report",
    ):
        response = await api.get(stranger, path)
        assert response.status_code == 404, path
        assert "private@example.test" not in response.text
    assert (await api.get(owner, f"/links/{link_id}/fulfilment-report")).status_code == 200
