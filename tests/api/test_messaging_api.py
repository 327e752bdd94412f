"""``/api/v1/messaging``: a workspace's templates and translations, announcements to its
consenting fans, quiet hours it may narrow but not widen, its sender identity, counts and
each message's ledger — within its own workspace, with roles, and 4xx with a message for
bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from launchlink.app import Application
from launchlink.models import Fan
from launchlink.models.accounts import Role
from tests.api.conftest import Api, make_link
from tests.builders import WorkspaceKey, create_workspace_with_key

RELEASE_TEXT = "{{ title }} is here: {{ listen_url }}"


async def _fans(app: Application, who: WorkspaceKey, **kinds: int) -> None:
    """Fans of the workspace: ``email=2, sms=1, none=1`` (confirmed consents or none)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    async with app.context.database.transaction() as session:
        for kind, count in kinds.items():
            for n in range(count):
                session.add(
                    Fan(
                        workspace_id=who.workspace_id,
                        email=f"{kind}{n}@fans.example.test",
                        email_consent_at=now if kind == "email" else None,
                        phone=f"+1212555{n:04d}" if kind == "sms" else None,
                        sms_consent_at=now if kind == "sms" else None,
                        sms_confirmed_at=now if kind == "sms" else None,
                    )
                )


def _error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert body["message"]
    return body


async def test_a_template_is_created_translated_previewed_changed_and_deleted(
    api: Api, owner: WorkspaceKey
) -> None:
    english = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "release_day", "channel": "email", "language": "en",
         "subject": "Out now: {{ title }}", "text": RELEASE_TEXT},
    )  # fmt: skip
    assert english.status_code == 201, english.text
    german = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "release_day", "channel": "email", "language": "de",
         "subject": "Jetzt da: {{ title }}", "text": "{{ title }} ist da: {{ listen_url }}"},
    )  # fmt: skip
    assert german.status_code == 201
    listed = (await api.get(owner, "/messaging/templates")).json()
    assert {t["language"] for t in listed} == {"en", "de"}
    defaults = (await api.get(owner, "/messaging/templates/defaults")).json()
    overridden = {(d["kind"], d["channel"], d["language"]) for d in defaults if d["overridden"]}
    assert overridden == {("release_day", "email", "en"), ("release_day", "email", "de")}

    preview = await api.post(
        owner,
        "/messaging/templates/preview",
        {"kind": "release_day", "channel": "email", "subject": "Out: {{ title }}",
         "text": RELEASE_TEXT},
    )  # fmt: skip
    assert preview.status_code == 200
    assert preview.json()["subject"] == "Out: Tidewater"
    assert "<a href=" in preview.json()["html"]
    assert "listen_url" in preview.json()["variables"]

    template_id = english.json()["id"]
    changed = await api.patch(
        owner, f"/messaging/templates/{template_id}", {"text": "New: {{ title }}"}
    )
    assert changed.status_code == 200
    assert changed.json()["text"] == "New: {{ title }}"
    assert changed.json()["subject"] == "Out now: {{ title }}"
    assert (await api.delete(owner, f"/messaging/templates/{template_id}")).status_code == 204
    assert (await api.get(owner, f"/messaging/templates/{template_id}")).status_code == 404


async def test_a_bad_template_is_refused_with_what_is_wrong(api: Api, owner: WorkspaceKey) -> None:
    unknown = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "release_day", "channel": "email", "language": "en", "text": "{{ titel }}"},
    )
    assert unknown.status_code == 422
    assert "titel" in _error(unknown)["message"]
    broken = await api.post(
        owner,
        "/messaging/templates/preview",
        {"kind": "countdown", "channel": "sms", "text": "{% if %}"},
    )
    assert broken.status_code == 422
    assert "does not parse" in _error(broken)["message"]
    not_by_email = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "sms_opt_in", "channel": "email", "language": "en", "text": "YES?"},
    )
    assert not_by_email.status_code == 422
    bad_language = await api.post(
        owner,
        "/messaging/templates",
        {"kind": "countdown", "channel": "sms", "language": "english!", "text": "{{ title }}"},
    )
    assert bad_language.status_code == 422
    body = {"kind": "countdown", "channel": "sms", "language": "en", "text": "{{ title }}"}
    assert (await api.post(owner, "/messaging/templates", body)).status_code == 201
    again = await api.post(owner, "/messaging/templates", body)
    assert again.status_code == 409
    assert _error(again)["field"] == "language"


async def test_a_viewer_reads_but_cannot_write_and_an_editor_cannot_set_the_sender(
    api: Api, app: Application, owner: WorkspaceKey
) -> None:
    viewer = await create_workspace_with_key(app.context.database, name="V", role=Role.viewer)
    editor = await create_workspace_with_key(app.context.database, name="E", role=Role.editor)
    body = {"kind": "countdown", "channel": "sms", "language": "en", "text": "{{ title }}"}
    assert (await api.get(viewer, "/messaging/templates")).status_code == 200
    assert (await api.post(viewer, "/messaging/templates", body)).status_code == 403
    assert (await api.post(editor, "/messaging/templates", body)).status_code == 201
    assert (await api.put(editor, "/messaging/sender", {"email_name": "E"})).status_code == 403
    assert (await api.put(owner, "/messaging/sender", {"email_name": "O"})).status_code == 200


async def test_an_announcement_reaches_only_fans_who_consented_to_its_channels(
    api: Api, app: Application, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    await _fans(app, owner, email=2, sms=1, none=1)
    await _fans(app, stranger, email=3)
    made = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "Tour dates are up.", "channels": ["email"]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["queued"] == 2
    assert made.json()["counts"]["by_channel"] == {"email": {"queued": 2}}
    both = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "Signed vinyl.", "channels": ["email", "sms"]},
    )
    assert both.json()["queued"] == 3
    read = await api.get(owner, f"/messaging/announcements/{both.json()['id']}")
    assert read.json()["counts"]["by_channel"] == {"email": {"queued": 2}, "sms": {"queued": 1}}
    counts = (await api.get(owner, "/messaging/messages/counts?kind=announcement")).json()
    assert counts["total"] == 5
    assert (await api.get(stranger, "/messaging/messages/counts")).json()["total"] == 0


async def test_an_announcement_with_bad_input_is_a_4xx_with_its_field(
    api: Api, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    theirs = await api.post(
        stranger,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "Hi", "channels": ["email"]},
    )
    assert theirs.status_code == 404
    past = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "Hi", "channels": ["email"],
         "send_at": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
    )  # fmt: skip
    assert past.status_code == 422
    assert _error(past)["field"] == "send_at"
    none = await api.post(
        owner, "/messaging/announcements", {"link_id": link["id"], "body": "Hi", "channels": []}
    )
    assert none.status_code == 422
    blank = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "   ", "channels": ["sms"]},
    )
    assert blank.status_code == 422


async def test_a_message_reads_with_its_ledger(
    api: Api, app: Application, owner: WorkspaceKey, stranger: WorkspaceKey
) -> None:
    link = await make_link(api, owner)
    await _fans(app, owner, email=1)
    made = await api.post(
        owner,
        "/messaging/announcements",
        {"link_id": link["id"], "body": "Hi", "channels": ["email"]},
    )
    async with app.context.database.sessionmaker() as session:
        from sqlalchemy import select

        from launchlink.models import Message

        [message_id] = (await session.execute(select(Message.id))).scalars()
    read = await api.get(owner, f"/messaging/messages/{message_id}")
    assert read.status_code == 200
    assert read.json()["announcement_id"] == made.json()["id"]
    assert [e["status"] for e in read.json()["ledger"]] == ["queued"]
    assert (await api.get(stranger, f"/messaging/messages/{message_id}")).status_code == 404
    assert (await api.get(owner, f"/messaging/messages/{UUID(int=1)}")).status_code == 404


async def test_quiet_hours_narrow_but_never_widen_the_instances(
    api: Api, owner: WorkspaceKey
) -> None:
    rules = (await api.get(owner, "/messaging/quiet-hours")).json()
    florida = next(r for r in rules if r["scope"] == "US-FL")
    assert (florida["allowed_from"], florida["allowed_until"], florida["source"]) == (
        480, 1200, "built-in",
    )  # fmt: skip
    wider = await api.put(
        owner, "/messaging/quiet-hours?channel=sms&scope=US-FL",
        {"allowed_from": 420, "allowed_until": 1200},
    )  # fmt: skip
    assert wider.status_code == 422
    assert "08:00 and 20:00" in _error(wider)["message"]
    narrower = await api.put(
        owner, "/messaging/quiet-hours?channel=sms&scope=us-fl",
        {"allowed_from": 600, "allowed_until": 1140, "note": "our fans sleep late"},
    )  # fmt: skip
    assert narrower.status_code == 200, narrower.text
    rules = (await api.get(owner, "/messaging/quiet-hours")).json()
    florida = next(r for r in rules if r["scope"] == "US-FL")
    assert (florida["allowed_from"], florida["source"]) == (600, "workspace")
    empty = await api.put(
        owner, "/messaging/quiet-hours?channel=sms&scope=US",
        {"allowed_from": 600, "allowed_until": 600},
    )  # fmt: skip
    assert empty.status_code == 422
    nowhere = await api.put(
        owner, "/messaging/quiet-hours?channel=sms&scope=United States",
        {"allowed_from": 600, "allowed_until": 700},
    )  # fmt: skip
    assert nowhere.status_code == 422
    # Email has no rule here: a workspace may still give it hours.
    email = await api.put(
        owner, "/messaging/quiet-hours?channel=email&scope=*",
        {"allowed_from": 420, "allowed_until": 1320},
    )  # fmt: skip
    assert email.status_code == 200
    gone = await api.delete(owner, "/messaging/quiet-hours?channel=sms&scope=US-FL")
    assert gone.status_code == 204
    assert (
        await api.delete(owner, "/messaging/quiet-hours?channel=sms&scope=US-FL")
    ).status_code == 404


async def test_the_sender_identity_is_set_and_checked(api: Api, owner: WorkspaceKey) -> None:
    before = (await api.get(owner, "/messaging/sender")).json()
    assert before["paused"] is False
    put = await api.put(
        owner,
        "/messaging/sender",
        {"email_name": "Tide Records", "email_local_part": "tide", "reply_to": "hi@tide.example",
         "sms_from": "+15005550006"},
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["email_name"] == "Tide Records"
    assert put.json()["email_address"].startswith("tide@")
    bad = await api.put(owner, "/messaging/sender", {"email_local_part": "a b@c"})
    assert bad.status_code == 422
    assert _error(bad)["field"] == "email_local_part"
    assert (await api.put(owner, "/messaging/sender", {"sms_from": "555"})).status_code == 422
    assert (await api.put(owner, "/messaging/sender", {"reply_to": "nope"})).status_code == 422
