"""The Messaging section over HTTP, on both databases: channels and why not, the sender
identity and quiet hours (admin+), the pause and its resume, templates with their preview
and field errors, an announcement sent to consenting fans through a real SMTP server and
its counts, and a campaign's message plan."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.messaging import planner
from launchlink.models import AuditEntry, Fan, Link, Presave
from launchlink.models.accounts import Role
from launchlink.models.messaging import MessageChannel, WorkspaceMessaging
from tests.dashboard.conftest import SEEDED_AT, Browser, seed_fan
from tests.dashboard.test_every_route import World, clock, world
from tests.messaging.conftest import email_channel, make_delivery
from tests.messaging.sink import smtp_sink

__all__ = ["clock", "world"]  # fixtures (after the demo album is out), used by name
PREFIX = "/dashboard"


def _m(world: World, rest: str = "") -> str:
    return f"{PREFIX}/w/{world.a}/messaging{rest}"


async def _audit_actions(app: Application, workspace_id: UUID) -> list[str]:
    async with app.context.database.sessionmaker() as session:
        rows = await session.execute(
            select(AuditEntry.action).where(AuditEntry.workspace_id == workspace_id)
        )
        return [str(r[0]) for r in rows]


async def test_the_overview_says_which_channels_can_send_and_why_not(world: World) -> None:
    page = await world.people[Role.viewer].get(_m(world))
    assert page.status_code == 200
    email = re.search(r'<tr data-channel="email">(.*?)</tr>', page.text, re.S)
    sms = re.search(r'<tr data-channel="sms">(.*?)</tr>', page.text, re.S)
    assert email
    assert sms
    # The test app has an SMTP server but no DKIM key; no SMS provider at all.
    assert "no DKIM key" in email.group(1)
    assert ">no<" in email.group(1)
    assert "LAUNCHLINK_MESSAGING__SMS_PROVIDER" in sms.group(1)
    # A viewer is shown no form that changes anything.
    assert 'action="' + _m(world, "/sender") not in page.text
    assert 'action="' + _m(world, "/quiet-hours") not in page.text


async def test_an_admin_sets_the_sender_identity_and_an_editor_may_not(
    world: World, sim_app: Application
) -> None:
    editor, admin = world.people[Role.editor], world.people[Role.admin]
    await editor.get(_m(world))
    refused = await editor.post(_m(world, "/sender"), {"email_name": "Editor"})
    assert refused.status_code == 403
    await admin.get(_m(world))
    bad = await admin.post(
        _m(world, "/sender"), {"email_name": "Nova", "email_local_part": "no spaces"}
    )
    assert bad.status_code == 422
    assert 'id="e-email_local_part"' in bad.text
    assert "is not the part of an address before the @" in bad.text
    bad = await admin.post(_m(world, "/sender"), {"sms_from": "12345"})
    assert bad.status_code == 422
    assert 'id="e-sms_from"' in bad.text
    saved = await admin.post(
        _m(world, "/sender"),
        {"email_name": "Nova Reyes", "email_local_part": "nova", "sms_from": "+15005550006"},
    )
    assert saved.status_code == 303
    page = await admin.get(saved.headers["location"])
    shown = re.search(r'id="effective-from">(.*?)</strong>', page.text)
    assert shown
    assert shown.group(1).startswith("Nova Reyes &lt;nova@")
    assert "texts from +15005550006" in page.text
    assert (await _audit_actions(sim_app, world.a)).count("messaging.sender_changed") == 1
    # The same identity saved again is no change: no second audit entry.
    again = await admin.post(
        _m(world, "/sender"),
        {"email_name": "Nova Reyes", "email_local_part": "nova", "sms_from": "+15005550006"},
    )
    assert again.status_code == 303
    assert (await _audit_actions(sim_app, world.a)).count("messaging.sender_changed") == 1


async def test_quiet_hours_narrow_the_instances_and_never_widen_them(
    world: World, sim_app: Application
) -> None:
    admin = world.people[Role.admin]
    await admin.get(_m(world))
    wide = await admin.post(
        _m(world, "/quiet-hours"),
        {"channel": "sms", "scope": "US", "allowed_from": "06:00", "allowed_until": "23:00"},
    )
    assert wide.status_code == 422
    assert 'id="e-allowed_from"' in wide.text
    assert "not widen them" in wide.text
    nonsense = await admin.post(
        _m(world, "/quiet-hours"),
        {"channel": "sms", "scope": "nowhere!", "allowed_from": "25:00", "allowed_until": "x"},
    )
    assert nonsense.status_code == 422
    assert 'id="e-allowed_from"' in nonsense.text
    assert 'id="e-allowed_until"' in nonsense.text
    saved = await admin.post(
        _m(world, "/quiet-hours"),
        {"channel": "sms", "scope": "gb", "allowed_from": "09:30", "allowed_until": "20:00"},
    )
    assert saved.status_code == 303
    page = await admin.get(_m(world))
    row = re.search(
        r"<tr><td>sms</td><td>GB</td><td>09:30</td><td>20:00</td>(.*?)</tr>", page.text, re.S
    )
    assert row
    assert "this workspace" in row.group(1)
    removed = await admin.post(_m(world, "/quiet-hours/delete"), {"channel": "sms", "scope": "GB"})
    assert removed.status_code == 303
    page = await admin.get(_m(world))
    assert "<td>GB</td><td>09:30</td>" not in page.text
    again = await admin.post(_m(world, "/quiet-hours/delete"), {"channel": "sms", "scope": "GB"})
    assert again.status_code == 404
    assert "has no sms rule for GB" in again.text
    actions = await _audit_actions(sim_app, world.a)
    assert {"messaging.quiet_hours_set", "messaging.quiet_hours_deleted"} <= set(actions)


async def test_an_automatic_pause_shows_why_and_an_admin_resumes_it(
    world: World, sim_app: Application, clock: FrozenClock
) -> None:
    async with sim_app.context.database.transaction() as session:
        session.add(
            WorkspaceMessaging(
                workspace_id=world.a,
                paused=True,
                paused_reason="bounces reached 12% of 200 sends",
                paused_at=clock.now(),
            )
        )
    editor, admin = world.people[Role.editor], world.people[Role.admin]
    page = await editor.get(_m(world))
    assert "bounces reached 12% of 200 sends" in page.text
    assert 'id="resume"' not in page.text
    assert (await editor.post(_m(world, "/resume"), {})).status_code == 403
    await admin.get(_m(world))
    resumed = await admin.post(_m(world, "/resume"), {})
    assert resumed.status_code == 303
    page = await admin.get(resumed.headers["location"])
    assert "Sending is not paused" in page.text
    twice = await admin.post(_m(world, "/resume"), {})
    assert twice.status_code == 409
    assert "sending is not paused" in twice.text
    assert "messaging.resumed" in await _audit_actions(sim_app, world.a)


def _template_form(**given: str) -> dict[str, str]:
    return {
        "kind": "release_day",
        "channel": "email",
        "language": "en",
        "subject": "{{ title }} is here",
        "text": "Hello! {{ title }} by {{ artists }}: {{ listen_url }}",
        "html": "",
    } | given


async def test_a_template_with_an_unknown_variable_or_bad_syntax_is_refused_on_its_field(
    world: World,
) -> None:
    editor = world.people[Role.editor]
    await editor.get(_m(world, "/templates/edit?kind=release_day&channel=email&language=en"))
    unknown = await editor.post(_m(world, "/templates"), _template_form(text="Hi {{ fan_name }}"))
    assert unknown.status_code == 422
    error = re.search(r'class="field-error" id="e-text">(.*?)</p>', unknown.text)
    assert error
    assert "unknown variables: fan_name" in error.group(1)
    syntax = await editor.post(_m(world, "/templates"), _template_form(subject="{{ title "))
    assert syntax.status_code == 422
    error = re.search(r'class="field-error" id="e-subject">(.*?)</p>', syntax.text)
    assert error
    assert "the subject does not parse" in error.group(1)
    html = await editor.post(_m(world, "/templates"), _template_form(html="<p>{% if %}</p>"))
    assert html.status_code == 422
    assert 'id="e-html"' in html.text
    language = await editor.post(_m(world, "/templates"), _template_form(language="english!"))
    assert language.status_code == 422
    assert 'id="e-language"' in language.text
    # What was typed is kept in the form.
    assert "Hi {{ fan_name }}" in unknown.text


async def test_an_editor_edits_a_template_previews_it_and_a_viewer_only_reads_it(
    world: World, sim_app: Application
) -> None:
    editor, viewer = world.people[Role.editor], world.people[Role.viewer]
    await editor.get(_m(world, "/templates/edit?kind=release_day&channel=email&language=en"))
    live = await editor.client.post(
        _m(world, "/templates/preview"),
        data=_template_form(csrf=editor.csrf),
        headers={"hx-request": "true"},
    )
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<div id="template-preview"')
    assert 'id="preview-subject">Tidewater is here<' in live.text
    assert "Hello! Tidewater by Nova Reyes: https://links.example.test/" in live.text
    assert 'srcdoc="' in live.text  # the HTML part, sandboxed
    refused = await editor.client.post(
        _m(world, "/templates/preview"),
        data=_template_form(csrf=editor.csrf, text="{{ nope }}"),
        headers={"hx-request": "true"},
    )
    assert refused.status_code == 422
    assert "unknown variables: nope" in refused.text

    saved = await editor.post(_m(world, "/templates"), _template_form())
    assert saved.status_code == 303
    page = await editor.get(saved.headers["location"])
    assert "This workspace&#39;s wording" in page.text or "This workspace's wording" in page.text
    assert "Hello! {{ title }}" in page.text
    listed = await viewer.get(_m(world, "/templates"))
    row = re.search(r"release day<span[^>]*> · email · en</span>.*?</tr>", listed.text, re.S)
    assert row
    assert "this workspace" in row.group(0)
    as_viewer = await viewer.get(
        _m(world, "/templates/edit?kind=release_day&channel=email&language=en")
    )
    assert '<fieldset class="stack" disabled>' in as_viewer.text
    assert 'id="save-template"' not in as_viewer.text
    assert (await viewer.post(_m(world, "/templates"), _template_form())).status_code == 403

    # Changing it again is an update of the same row; removing it goes back to built-in.
    again = await editor.post(_m(world, "/templates"), _template_form(subject="New {{ title }}"))
    assert again.status_code == 303
    page = await editor.get(again.headers["location"])
    template_id = re.search(r"/messaging/templates/([0-9a-f-]{36})/delete", page.text)
    assert template_id
    gone = await editor.post(_m(world, f"/templates/{template_id.group(1)}/delete"), {})
    assert gone.status_code == 303
    page = await editor.get(_m(world, "/templates/edit?kind=release_day&channel=email&language=en"))
    assert "The built-in wording" in page.text
    actions = await _audit_actions(sim_app, world.a)
    assert actions.count("messaging.template_saved") == 2
    assert "messaging.template_deleted" in actions


async def test_an_sms_template_has_no_subject_or_html_and_unknown_kinds_are_not_found(
    world: World,
) -> None:
    editor = world.people[Role.editor]
    page = await editor.get(_m(world, "/templates/edit?kind=countdown&channel=sms&language=de"))
    assert page.status_code == 200
    assert 'name="subject"' not in page.text
    assert 'name="html"' not in page.text
    missing = await editor.get(_m(world, "/templates/edit?kind=receipt&channel=sms&language=en"))
    assert missing.status_code in (200, 404)
    junk = await editor.get(_m(world, "/templates/edit?kind=nope&channel=email"))
    assert junk.status_code == 404


async def test_an_announcement_reaches_consenting_fans_over_smtp_and_its_counts_follow(
    world: World, sim_app: Application, clock: FrozenClock
) -> None:
    for n in range(3):
        await seed_fan(sim_app, world.link_a, email=f"fan{n}@example.com", email_consent=True)
    await seed_fan(sim_app, world.link_a, email="quiet@example.com", email_consent=False)
    # An address given for this release's reminders only is no audience for announcements.
    await seed_fan(
        sim_app, world.link_a, email="reminders@example.com", email_consent=False,
        reminder_only=True,
    )  # fmt: skip
    editor: Browser = world.people[Role.editor]
    page = await editor.get(_m(world, "/announcements"))
    assert page.status_code == 200
    form = {"link_id": str(world.link_a), "body": "Tour dates are up!", "channel_email": "1"}
    preview = await editor.post(_m(world, "/announcements/preview"), form)
    assert preview.status_code == 200
    assert "Tour dates are up!" in preview.text
    assert 'id="announcement-preview-email"' in preview.text
    none = await editor.post(_m(world, "/announcements"), {**form, "channel_email": ""})
    assert none.status_code == 422
    assert 'id="e-channel_email"' in none.text
    past = await editor.post(
        _m(world, "/announcements"),
        {**form, "send_date": (clock.now() - timedelta(days=2)).date().isoformat()},
    )
    assert past.status_code == 422
    assert 'id="e-send_date"' in past.text
    assert (
        await world.people[Role.viewer].post(_m(world, "/announcements"), form)
    ).status_code == 403

    sent = await editor.post(_m(world, "/announcements"), form)
    assert sent.status_code == 303
    url = sent.headers["location"].split("?")[0]
    page = await editor.get(url)
    row = re.search(r'<tr data-channel="email">(.*?)</tr>', page.text, re.S)
    assert row
    assert '<td data-count="queued">3</td>' in row.group(1)
    assert 'hx-trigger="every 3s"' in page.text  # live while messages are to go

    with smtp_sink() as sink:
        delivery = make_delivery(
            sim_app.context.database, clock,
            {MessageChannel.email: email_channel(sink, None, clock)},
        )  # fmt: skip
        done = await delivery.run_round(MessageChannel.email)
        assert done.sent == 3
        assert sorted(m["To"] for m in sink.messages()) == [f"fan{n}@example.com" for n in range(3)]
    counts = await editor.get(url + "/counts")
    assert counts.status_code == 200
    row = re.search(r'<tr data-channel="email">(.*?)</tr>', counts.text, re.S)
    assert row
    assert '<td data-count="sent">3</td>' in row.group(1)
    assert '<td data-count="queued">0</td>' in row.group(1)
    assert "hx-trigger" not in counts.text  # nothing left to go: the polling stops
    listed = await world.people[Role.viewer].get(_m(world, "/announcements"))
    assert "Tour dates are up!" in listed.text
    assert "messaging.announcement_sent" in await _audit_actions(sim_app, world.a)


async def test_the_campaign_page_links_its_message_plan(world: World) -> None:
    viewer = world.people[Role.viewer]
    campaign = await viewer.get(f"{PREFIX}/w/{world.a}/campaigns/{world.link_a}")
    assert 'id="messages-link"' in campaign.text
    plan = await viewer.get(f"{PREFIX}/w/{world.a}/campaigns/{world.link_a}/messages")
    assert plan.status_code == 200
    assert "No message is planned for this release yet" in plan.text


async def test_the_message_plan_shows_each_time_zones_instants_and_counts(
    world: World, sim_app: Application, clock: FrozenClock
) -> None:
    london_at = clock.now() + timedelta(days=2)
    new_york_at = london_at + timedelta(hours=5)
    fans = {}
    for name, zone, due in (
        ("ldn1", "Europe/London", london_at),
        ("ldn2", "Europe/London", london_at),
        ("nyc", "America/New_York", new_york_at),
    ):
        fans[name] = await seed_fan(
            sim_app, world.link_a, email=f"{name}@example.com", email_consent=True
        )
        async with sim_app.context.database.transaction() as session:
            presave = (
                await session.execute(select(Presave).where(Presave.fan_id == fans[name]))
            ).scalar_one()
            presave.time_zone, presave.due_at = zone, due
    async with sim_app.context.database.transaction() as session:
        link = await session.get(Link, world.link_a)
        assert link is not None
        assert await planner.plan_release(session, link.release_id, now=clock.now()) == 6
    page = await world.people[Role.viewer].get(
        f"{PREFIX}/w/{world.a}/campaigns/{world.link_a}/messages"
    )
    rows = [
        re.sub(r"<[^>]+>", "|", row)
        for row in re.findall(r"<tr><td>(?:countdown|release day).*?</tr>", page.text, re.S)
    ]
    cells = [[c.strip() for c in row.split("|") if c.strip()] for row in rows]
    assert cells == [
        ["countdown", "email", "Europe/London", "2026-03-11 12:00 UTC",
         "2026-03-11 12:00 Europe/London", "2", "2", "0", "0", "0"],
        ["countdown", "email", "America/New_York", "2026-03-11 17:00 UTC",
         "2026-03-11 13:00 America/New_York", "1", "1", "0", "0", "0"],
        ["release day", "email", "Europe/London", "2026-03-12 12:00 UTC",
         "2026-03-12 12:00 Europe/London", "2", "2", "0", "0", "0"],
        ["release day", "email", "America/New_York", "2026-03-12 17:00 UTC",
         "2026-03-12 13:00 America/New_York", "1", "1", "0", "0", "0"],
    ]  # fmt: skip
    totals = re.search(r'<tr data-kind="release_day">(.*?)</tr>', page.text, re.S)
    assert totals is not None
    assert re.sub(r"<[^>]+>", " ", totals.group(1)).split() == [
        "release", "day", "3", "0", "0", "0", "0", "0", "0"
    ]  # fmt: skip


async def test_the_base_language_is_an_admin_setting_with_a_field_error(
    world: World, sim_app: Application
) -> None:
    editor, admin = world.people[Role.editor], world.people[Role.admin]
    url = f"{PREFIX}/w/{world.a}/general"
    page = await editor.get(url)
    assert page.status_code == 200
    assert 'id="base-language">English<' in page.text
    assert 'name="base_language"' not in page.text
    assert (await editor.post(url, {"base_language": "de"})).status_code == 403
    await admin.get(url)
    unknown = await admin.post(url, {"base_language": "ja"})
    assert unknown.status_code == 422
    assert 'id="e-base_language"' in unknown.text
    assert "not a language we have pages in" in unknown.text
    saved = await admin.post(url, {"base_language": "de"})
    assert saved.status_code == 303
    page = await admin.get(saved.headers["location"])
    assert 'id="base-language">Deutsch<' in page.text
    assert "workspace.base_language_changed" in await _audit_actions(sim_app, world.a)


async def test_fans_in_a_language_we_lack_get_the_base_language_on_pages_and_in_messages(
    world: World, sim_app: Application, clock: FrozenClock
) -> None:
    client = world.owner.client
    before = await client.get("/in-a", headers={"accept-language": "ja"})
    assert '<html lang="en">' in before.text  # cached before the change: dropped by it
    await world.owner.get(f"{PREFIX}/w/{world.a}/general")
    saved = await world.owner.post(f"{PREFIX}/w/{world.a}/general", {"base_language": "de"})
    assert saved.status_code == 303
    page = await client.get("/in-a", headers={"accept-language": "ja"})
    assert '<html lang="de">' in page.text
    french = await client.get("/in-a", headers={"accept-language": "fr"})
    assert '<html lang="fr">' in french.text
    # Another workspace keeps its own base language.
    other = await client.get("/in-b", headers={"accept-language": "ja"})
    assert '<html lang="en">' in other.text

    japanese = await seed_fan(sim_app, world.link_a, email="ja@example.com", email_consent=True)
    french_fan = await seed_fan(sim_app, world.link_a, email="fr@example.com", email_consent=True)
    async with sim_app.context.database.transaction() as session:
        for fan_id, language in ((japanese, "ja"), (french_fan, "fr")):
            fan = await session.get(Fan, fan_id)
            assert fan is not None
            fan.language = language
    editor = world.people[Role.editor]
    await editor.get(_m(world, "/announcements"))
    sent = await editor.post(
        _m(world, "/announcements"),
        {"link_id": str(world.link_a), "body": "Neue Termine!", "channel_email": "1"},
    )
    assert sent.status_code == 303
    with smtp_sink() as sink:
        delivery = make_delivery(
            sim_app.context.database, clock,
            {MessageChannel.email: email_channel(sink, None, clock)},
        )  # fmt: skip
        assert (await delivery.run_round(MessageChannel.email)).sent == 2
        subjects = {str(m["To"]): str(m["Subject"]) for m in sink.messages()}
    assert subjects["ja@example.com"].endswith(": Neuigkeiten")  # the German wording
    assert "Neuigkeiten" not in subjects["fr@example.com"]  # a language we have: French


async def test_an_announcement_to_a_campaigns_fans_skips_the_workspaces_other_fans(
    world: World, sim_app: Application
) -> None:
    await seed_fan(sim_app, world.link_a, email="presaver@example.com", email_consent=True)
    async with sim_app.context.database.transaction() as session:
        # A consenting fan of the workspace who never pre-saved this campaign.
        session.add(
            Fan(
                workspace_id=world.a,
                email="elsewhere@example.com",
                email_consent_at=SEEDED_AT,
                country="GB",
            )
        )
    editor = world.people[Role.editor]
    await editor.get(_m(world, "/announcements"))
    form = {"link_id": str(world.link_a), "body": "Only for you", "channel_email": "1"}
    bad = await editor.post(_m(world, "/announcements"), {**form, "audience": "everyone"})
    assert bad.status_code == 422
    assert 'id="e-audience"' in bad.text
    campaign = await editor.post(_m(world, "/announcements"), {**form, "audience": "campaign"})
    assert campaign.status_code == 303
    page = await editor.get(campaign.headers["location"])
    row = re.search(r'<tr data-channel="email">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert '<td data-count="queued">1</td>' in row.group(1)
    everyone = await editor.post(_m(world, "/announcements"), {**form, "audience": "workspace"})
    page = await editor.get(everyone.headers["location"])
    row = re.search(r'<tr data-channel="email">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert '<td data-count="queued">2</td>' in row.group(1)


async def test_an_announcement_to_more_fans_than_one_statement_takes_is_queued_in_full(
    world: World, sim_app: Application
) -> None:
    # 4,000 messages x 17 columns is past PostgreSQL's 65,535 parameters a statement.
    async with sim_app.context.database.transaction() as session:
        session.add_all(
            Fan(
                workspace_id=world.a,
                email=f"crowd{n}@example.com",
                email_consent_at=SEEDED_AT,
                country="GB",
            )
            for n in range(4000)
        )
    editor = world.people[Role.editor]
    await editor.get(_m(world, "/announcements"))
    sent = await editor.post(
        _m(world, "/announcements"),
        {"link_id": str(world.link_a), "body": "To everyone", "channel_email": "1"},
    )
    assert sent.status_code == 303
    page = await editor.get(sent.headers["location"])
    row = re.search(r'<tr data-channel="email">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert '<td data-count="queued">4000</td>' in row.group(1)
