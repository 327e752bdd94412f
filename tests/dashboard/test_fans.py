"""The fans page: consent provenance, filters, the CSV of consenting fans only, and
deleting a fan on request (audited, by admins only)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import AuditEntry, Fan, Presave
from launchlink.simulator.demo import DEMO_ALBUM
from tests.dashboard.conftest import Browser, BrowserFactory, Inbox, invite_and_join, seed_fan

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


async def _campaign(browser: Browser, base: str) -> UUID:
    await browser.get(f"{base}/campaigns/new")
    created = await browser.post(
        f"{base}/campaigns", {"paste": DEMO_ALBUM.service_urls["spotify"], "slug": "midnight"}
    )
    assert created.status_code == 303, created.text
    found = re.search(r"/campaigns/([0-9a-f-]{36})", created.headers["location"])
    assert found
    return UUID(found.group(1))


async def test_fans_show_where_each_consent_came_from_and_filter(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    await seed_fan(sim_app, link_id, email="yes@example.com", email_consent=True)
    await seed_fan(sim_app, link_id, email="no@example.com", email_consent=False)
    listing = await browser.get(f"{base}/fans")
    assert listing.status_code == 200, listing.text
    assert "yes@example.com" in listing.text
    assert "no@example.com" in listing.text
    # The service filter offers the services pre-saved on, and only those.
    offered = re.findall(r'<option value="([a-z_]+)"(?: selected)?>\1</option>', listing.text)
    assert "spotify" in offered
    assert "deezer" not in offered
    assert "email on /midnight, text v3 (en)" in listing.text
    assert "connect service (spotify) on /midnight" in listing.text
    consenting = await browser.get(f"{base}/fans?consent=email")
    assert "yes@example.com" in consenting.text
    assert "no@example.com" not in consenting.text
    searched = await browser.get(f"{base}/fans?q=NO%40")
    assert "no@example.com" in searched.text
    assert "yes@example.com" not in searched.text
    by_campaign = await browser.get(f"{base}/fans?campaign={link_id}&service=spotify")
    assert by_campaign.text.count("/fans/") >= 2
    bad = await browser.get(f"{base}/fans?consent=maybe&campaign=x")
    assert bad.status_code == 422
    assert 'id="e-consent"' in bad.text
    assert 'id="e-campaign"' in bad.text


async def test_the_export_holds_consenting_fans_only_each_value_under_its_consent(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    await seed_fan(sim_app, link_id, email="yes@example.com", email_consent=True)
    await seed_fan(sim_app, link_id, email="no@example.com", email_consent=False)
    await seed_fan(
        sim_app, link_id, email="=cmd@example.com", email_consent=False, sms="+447700900123"
    )
    export = await browser.client.get(f"{base}/fans/export.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted((row["email"], row["phone"]) for row in rows) == [
        ("", "+447700900123"),
        ("yes@example.com", ""),
    ]
    only_email = await browser.client.get(f"{base}/fans/export.csv?consent=email")
    assert [r["email"] for r in csv.DictReader(io.StringIO(only_email.text))] == ["yes@example.com"]


async def test_a_reminder_only_fan_is_shown_as_such_and_never_exported_as_consenting(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    await seed_fan(sim_app, link_id, email="news@example.com", email_consent=True)
    await seed_fan(
        sim_app, link_id, email="only@example.com", email_consent=False, reminder_only=True
    )
    listing = await browser.get(f"{base}/fans?consent=reminder")
    assert listing.status_code == 200, listing.text
    assert "only@example.com" in listing.text
    assert "news@example.com" not in listing.text
    assert '<span class="badge">reminder only</span>' in listing.text
    assert "email for /midnight" in listing.text
    marketing = await browser.get(f"{base}/fans?consent=email")
    assert "only@example.com" not in marketing.text
    nobody = await browser.get(f"{base}/fans?consent=none")
    assert "only@example.com" not in nobody.text
    for query in ("", "?consent=reminder", "?consent=any"):
        export = await browser.client.get(f"{base}/fans/export.csv{query}")
        assert export.status_code == 200
        emails = [row["email"] for row in csv.DictReader(io.StringIO(export.text))]
        assert "only@example.com" not in emails
        assert emails == ([] if query == "?consent=reminder" else ["news@example.com"])


async def test_an_admin_deletes_a_fan_on_request_and_the_audit_log_says_so(
    artist: tuple[Browser, str], sim_app: Application
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    fan_id = await seed_fan(sim_app, link_id, email="gone@example.com", email_consent=True)
    await browser.get(f"{base}/fans")
    refused = await browser.post(f"{base}/fans/{fan_id}/delete", {"csrf": "forged"})
    assert refused.status_code == 403
    deleted = await browser.post(f"{base}/fans/{fan_id}/delete", {})
    assert deleted.status_code == 303, deleted.text
    listing = await browser.get(deleted.headers["location"])
    assert "gone@example.com" not in listing.text
    assert "were deleted" in listing.text
    async with sim_app.context.database.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Fan))).scalar_one() == 0
        assert (await session.execute(select(func.count()).select_from(Presave))).scalar_one() == 0
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "fan.deleted"))
        ).scalar_one()
    assert entry.target_id == str(fan_id)
    assert "gone@example.com" not in str(entry.after)
    again = await browser.post(f"{base}/fans/{fan_id}/delete", {})
    assert again.status_code == 404


async def test_viewers_and_editors_delete_no_fan_and_viewers_export_nothing(
    artist: tuple[Browser, str], sim_app: Application, browsers_on_sim: BrowserFactory, inbox: Inbox
) -> None:
    browser, base = artist
    link_id = await _campaign(browser, base)
    fan_id = await seed_fan(sim_app, link_id, email="kept@example.com", email_consent=True)
    workspace_id = UUID(base.rsplit("/", 1)[1])
    for role in ("viewer", "editor"):
        member = await browsers_on_sim()
        await invite_and_join(browser, member, inbox, workspace_id, f"{role}@example.com", role)
        page = await member.get(f"{base}/fans")
        assert page.status_code == 200
        assert "kept@example.com" in page.text
        assert "Delete this fan" not in page.text
        assert (await member.post(f"{base}/fans/{fan_id}/delete", {})).status_code == 403
        export = await member.client.get(f"{base}/fans/export.csv")
        assert export.status_code == (403 if role == "viewer" else 200)
    async with sim_app.context.database.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(Fan))).scalar_one() == 1
