"""One-click revoke, GDPR export and delete, contacts CSV, the campaign API."""

from __future__ import annotations

import csv
import io
import re

import httpx
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.models import Fan, MagicLink, Presave, PresaveEvent, ServiceGrant
from launchlink.models.messaging import MessageState
from launchlink.models.presave import PendingContact, PresaveState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key
from tests.presave.conftest import (
    Inbox,
    ask_for_reminder,
    browser_for,
    confirm_address,
    csrf_of,
    make_presave_link,
    presave_via_spotify,
    reminder_messages,
)


async def _revoke_link(fan: httpx.AsyncClient, confirmation: str) -> str:
    page = await fan.get(confirmation)
    found = re.search(r'href="(/revoke/[^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_revoke_deletes_the_tokens_and_cancels_everything_pending(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    done = await presave_via_spotify(fan, form={"email": "r@example.com", "email_consent": "1"})
    revoke = await _revoke_link(fan, done.headers["location"])
    confirm_page = await fan.get(revoke)
    assert confirm_page.status_code == 200
    refused = await fan.post(revoke, data={})
    assert refused.status_code == 403
    revoked = await fan.post(revoke, data={"csrf": csrf_of(confirm_page.text)})
    assert revoked.status_code == 200
    assert 'id="revoked"' in revoked.text
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        grant = (await session.execute(select(ServiceGrant))).scalar_one()
        events = [e.state for e in (await session.execute(select(PresaveEvent))).scalars()]
    assert presave.state is PresaveState.cancelled
    assert events == [PresaveState.waiting, PresaveState.cancelled]
    assert grant.access_token is None
    assert grant.refresh_token is None
    assert grant.revoked_at is not None


async def test_revoke_cancels_the_planned_reminder_at_once(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    await ask_for_reminder(fan, email="x@example.com")
    done = await confirm_address(fan, inbox, "x@example.com")
    revoke = await _revoke_link(fan, done.headers["location"])
    page = await fan.get(revoke)
    await fan.post(revoke, data={"csrf": csrf_of(page.text)})
    [reminder] = await reminder_messages(papp)
    assert reminder.state is MessageState.cancelled
    assert reminder.last_error == "revoked by the fan"


async def test_a_tampered_revoke_link_changes_nothing(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    done = await presave_via_spotify(fan)
    revoke = await _revoke_link(fan, done.headers["location"])
    response = await fan.get(revoke[:-3] + "abc")
    assert response.status_code == 404
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    assert presave.state is PresaveState.waiting


async def test_a_fan_can_be_exported_and_deleted_by_email_or_account(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    await presave_via_spotify(
        fan, username="gdpr-fan", form={"email": "gdpr@example.com", "email_consent": "1"}
    )
    await confirm_address(fan, inbox, "gdpr@example.com")
    by_email = await admin.post(label, "/fans/export", {"email": "GDPR@example.com"})
    assert by_email.status_code == 200
    [exported] = by_email.json()["fans"]
    assert exported["email"] == "gdpr@example.com"
    assert exported["presaves"][0]["service"] == "spotify"
    assert exported["consents"]
    account_id = exported["service_accounts"][0]["account_id"]
    assert "access_token" not in by_email.text
    stranger = await create_workspace_with_key(papp.context.database, name="Other")
    assert (
        await admin.post(stranger, "/fans/export", {"email": "gdpr@example.com"})
    ).status_code == 404
    deleted = await admin.post(
        label, "/fans/delete", {"service": "spotify", "account_id": account_id}
    )
    assert deleted.json() == {"fans_deleted": 1, "presaves_deleted": 1, "grants_deleted": 1}
    async with papp.context.database.sessionmaker() as session:
        for model in (Fan, Presave, ServiceGrant, PendingContact):
            count = (await session.execute(select(func.count()).select_from(model))).scalar_one()
            assert count == 0, model


async def test_an_address_nobody_confirmed_is_exported_and_erased_by_email(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, inbox: Inbox
) -> None:
    await make_presave_link(admin, label)
    await ask_for_reminder(fan, email="typed@example.com")
    csrf = csrf_of((await fan.get("/soon")).text)
    await fan.post("/presave/soon/later", data={"csrf": csrf, "email": "typed@example.com"})
    exported = await admin.post(label, "/fans/export", {"email": "typed@example.com"})
    assert exported.status_code == 200
    assert exported.json()["fans"] == []
    [unconfirmed] = exported.json()["unconfirmed_addresses"]
    assert (unconfirmed["email"], unconfirmed["purpose"]) == ("typed@example.com", "reminder")
    deleted = await admin.post(label, "/fans/delete", {"email": "typed@example.com"})
    assert deleted.status_code == 200
    assert deleted.json()["fans_deleted"] == 0
    async with papp.context.database.sessionmaker() as session:
        for model in (PendingContact, MagicLink):
            count = (await session.execute(select(func.count()).select_from(model))).scalar_one()
            assert count == 0, model
    gone = await admin.post(label, "/fans/export", {"email": "typed@example.com"})
    assert gone.status_code == 404


async def test_the_contacts_csv_lists_only_fans_who_consented_and_confirmed(
    papp: Application, admin: Api, label: WorkspaceKey, inbox: Inbox
) -> None:
    created = await make_presave_link(admin, label)
    async with browser_for(papp) as yes, browser_for(papp) as no, browser_for(papp) as later:
        await presave_via_spotify(
            yes, username="yes", form={"email": "yes@example.com", "email_consent": "1"}
        )
        await confirm_address(yes, inbox, "yes@example.com")
        await presave_via_spotify(no, username="no", form={"email": "no@example.com"})
        await presave_via_spotify(
            later,
            username="unconfirmed",
            form={"email": "unconfirmed@example.com", "email_consent": "1"},
        )
    response = await admin.client.get(
        f"/api/v1/links/{created['link']['id']}/contacts.csv", headers=label.headers
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["email"] for row in rows] == ["yes@example.com"]
    assert "no@example.com" not in response.text
    assert "unconfirmed@example.com" not in response.text


async def test_campaign_api_lists_counts_and_isolates_workspaces(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    created = await make_presave_link(admin, label)
    link_id = created["link"]["id"]
    for username in ("a", "b", "c"):
        await presave_via_spotify(fan, username=username)
    first = await admin.get(label, f"/links/{link_id}/presaves?limit=2&service=spotify")
    assert first.status_code == 200
    assert len(first.json()["items"]) == 2
    rest = await admin.get(
        label, f"/links/{link_id}/presaves?limit=2&cursor={first.json()['next_cursor']}"
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    assert (await admin.get(label, f"/links/{link_id}/presaves?country=US")).json()["items"] == []
    counts = (await admin.get(label, f"/links/{link_id}/presaves/counts")).json()
    assert counts["total"] == 3
    assert counts["by_service"] == {"spotify": 3}
    assert counts["by_state"] == {"waiting": 3}
    assert counts["oauth_started"] == 3
    assert counts["oauth_completed"] == 3
    stranger = await create_workspace_with_key(papp.context.database, name="Other")
    for path in (f"/links/{link_id}/campaign", f"/links/{link_id}/presaves"):
        assert (await admin.get(stranger, path)).status_code == 404
    too_many = await admin.put(
        label,
        f"/links/{link_id}/campaign",
        {
            "extra_follows": [
                {"service": "spotify", "kind": "artist", "id": str(n)} for n in range(4)
            ]
        },
    )
    assert too_many.status_code == 422


async def test_consent_texts_are_versioned(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    created = await make_presave_link(
        admin, label, campaign={"consent_texts": {"email": "Email me about Nova Reyes, please."}}
    )
    link_id = created["link"]["id"]
    changed = await admin.put(
        label,
        f"/links/{link_id}/campaign",
        {"consent_texts": {"email": "Email me about Nova Reyes and her label."}},
    )
    [text] = changed.json()["consent_texts"]
    assert text["version"] == 2
    assert text["text"].endswith("her label.")
