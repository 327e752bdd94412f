"""The pre-save funnel and the returning pre-savers, as the analytics API reports them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from launchlink.analytics import subscribers as analytics_subscribers
from launchlink.app import Application
from launchlink.events import PresaveDone, Subscriptions, emit
from launchlink.kit.clock import FrozenClock
from launchlink.outbox.dispatcher import OutboxDispatcher
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    approve_on_simulator,
    browser_for,
    csrf_of,
    make_presave_link,
    open_page,
    presave_via_spotify,
)


async def test_the_funnel_counts_each_step_per_service_and_the_presavers_who_came_back(
    papp: Application, admin: Api, label: WorkspaceKey, clock: FrozenClock
) -> None:
    made = await make_presave_link(admin, label)
    link = made["link"]
    subscriptions = Subscriptions()
    analytics_subscribers.register(subscriptions)
    dispatcher = OutboxDispatcher(papp.context.database, clock, subscriptions)
    await dispatcher.drain()
    async with browser_for(papp) as saver, browser_for(papp) as decliner:
        done = await presave_via_spotify(saver, form={"email": "fan@example.test",
                                                      "email_consent": "1"})  # fmt: skip
        assert done.status_code == 303, done.text
        html = await open_page(decliner)
        started = await decliner.post(
            "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "spotify"}
        )
        answered = await approve_on_simulator(
            decliner, started.headers["location"], username="nope", decision="deny"
        )
        await decliner.get(httpx.URL(answered.headers["location"]).raw_path.decode())
        assert papp.analytics is not None
        await papp.analytics.flush()
        # Fulfilment reports its outcome through the outbox.
        async with papp.context.database.transaction() as session:
            await emit(session, PresaveDone(
                occurred_at=clock.now(), workspace_id=label.workspace_id,
                presave_id=uuid.uuid4(), link_id=uuid.UUID(link["id"]),
                release_id=uuid.UUID(link["release_id"]), fan_id=uuid.uuid4(),
                service="spotify",
            ))  # fmt: skip
        assert await dispatcher.drain() == 1
        # After the release the pre-saver's browser comes back; the decliner's too.
        clock.set(datetime(2026, 3, 6, 1, tzinfo=UTC))
        for browser in (saver, decliner):
            assert (await browser.get("/soon")).status_code == 200
        await papp.analytics.flush()

    start = (clock.now() - timedelta(days=10)).date().isoformat()
    response = await admin.get(label, f"/analytics/links/{link['id']}/summary?from={start}")
    assert response.status_code == 200, response.text
    summary = response.json()
    funnel = summary["funnel"]
    assert funnel["views_before_release"] == 2
    assert funnel["optins"] == {"email": 1, "sms": 0}
    assert funnel["services"]["spotify"] == {
        "start": 2,
        "authorised": 1,
        "fulfilled": 1,
        "sign_in_failures": {"denied": 1},
        "fulfilment_failures": {},
    }
    assert summary["presavers_returned"] == 1
    assert summary["launch_window"]["presavers_returned"] == 1
    assert summary["intent_vs_demand"]["presaves"] == 1
    # Both browsers share an address and a user agent here: one visitor, as Plausible counts.
    assert summary["intent_vs_demand"]["pre_release_visitors"] == 1
    assert summary["intent_vs_demand"]["presaves_per_100_pre_release_visitors"] == 100.0
