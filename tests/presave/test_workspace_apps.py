"""A workspace's own service app, used: through the simulator with two registered Spotify
apps, a label's fans sign in to its app (authorize URL, code exchange), their tokens are
refreshed and their pre-saves fulfilled with it, in its own rate-limit bucket, while
another workspace keeps the instance's app; a secret the service refuses is a permanent,
visible configuration error; a changed app leaves the old app's grants needing re-auth."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from launchlink.app import Application
from launchlink.connectors.base import SERVICES
from launchlink.connectors.registry import app_client_id
from launchlink.fulfilment.engine import FulfilmentEngine
from launchlink.fulfilment.limiter import MemoryLimiter
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.integrations import service as integrations
from launchlink.kit.clock import FrozenClock
from launchlink.models import Presave, ServiceCredential, ServiceGrant
from launchlink.models.presave import PresaveState
from launchlink.ops.doctor import run_checks
from launchlink.presave.modes import RegistrySource
from launchlink.presave.web import CALLBACK_PATH
from launchlink.simulator.catalog import Album, Track
from launchlink.simulator.profile import DEMO_CLIENT_ID
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey, create_workspace_with_key
from tests.presave.conftest import (
    NOW,
    PUBLIC_URL,
    approve_on_simulator,
    browser_for,
    csrf_of,
    make_presave_link,
    open_page,
)
from tests.presave.test_offer_matrix import reconfigure

LABEL_APP, LABEL_SECRET = "label-spotify-app", "label-secret-0001"
SECOND_APP, SECOND_SECRET = "label-spotify-app-2", "label-secret-0002"


def register_app(sim: SimulatorState, client_id: str, secret: str) -> None:
    """A second developer app at the (simulated) service, as a label registers its own."""
    sim.upsert_app(
        "spotify",
        client_id,
        client_secret=secret,
        redirect_uris=[PUBLIC_URL + CALLBACK_PATH],
        mode="extended",
    )


async def bring_app(papp: Application, workspace_id: UUID, client_id: str, secret: str) -> None:
    """What the Settings page stores (tests/dashboard covers the form itself)."""
    cipher = papp.context.cipher
    assert cipher is not None
    async with papp.context.database.transaction() as session:
        row = await session.get(ServiceCredential, (workspace_id, "spotify"))
        if row is None:
            row = ServiceCredential(
                workspace_id=workspace_id,
                service="spotify",
                client_id=client_id,
                secret=b"",
                secret_hint=secret[-4:],
                extra={},
            )
            session.add(row)
        row.client_id, row.secret, row.updated_at = client_id, cipher.encrypt(secret), NOW
        row.rejected_reason = row.rejected_at = None
    assert papp.context.apps is not None
    papp.context.apps.forget(workspace_id)


def release_on_spotify(sim: SimulatorState) -> None:
    sim.upsert_album(
        Album(
            key="own-app-release",
            title="Midnight Cartography",
            artist_keys=("nova-reyes",),
            upc="036000291452",
            release_date=NOW.date(),
            available_from=NOW - timedelta(days=1),
            tracks=[Track("own-app-1", "North Star", "USRC17607839", 201000, 1, ("nova-reyes",))],
        )
    )


async def sign_in(papp: Application, slug: str, username: str) -> tuple[httpx.URL, httpx.Response]:
    """A fan's round trip through Spotify; the authorize URL and the callback's answer."""
    async with browser_for(papp, **{"CF-IPCountry": "GB"}) as browser:
        html = await open_page(browser, slug)
        started = await browser.post(
            f"/presave/{slug}/connect", data={"csrf": csrf_of(html), "service": "spotify"}
        )
        assert started.status_code == 303, started.text
        authorize = httpx.URL(started.headers["location"])
        answered = await approve_on_simulator(browser, str(authorize), username=username)
        assert answered.status_code == 302, answered.text
        callback = httpx.URL(answered.headers["location"])
        return authorize, await browser.get(callback.raw_path.decode())


def engine_of(papp: Application, clock: FrozenClock, limiter: MemoryLimiter) -> FulfilmentEngine:
    source = papp.context.connectors
    assert isinstance(source, RegistrySource)
    assert papp.context.cipher is not None
    return FulfilmentEngine(
        database=papp.context.database,
        connectors=source.registry.get,
        limiter=limiter,
        cipher=papp.context.cipher,
        settings=FulfilmentSettings(
            rate_limits=dict.fromkeys(SERVICES, 1000.0), early_probe_hours=0
        ),
        clock=clock,
        apps=papp.context.apps,
    )


async def fulfil_everything(engine: FulfilmentEngine) -> None:
    await engine.schedule()
    for _ in range(10):
        jobs = await engine.claim("spotify", "apps-test", 100)
        if not jobs:
            return
        for job in jobs:
            await engine.process(job, "apps-test")


async def presaves(papp: Application) -> dict[UUID, Presave]:
    async with papp.context.database.sessionmaker() as session:
        rows = (await session.execute(select(Presave))).scalars().all()
    return {row.workspace_id: row for row in rows}


@pytest.fixture
async def two_labels(
    papp: Application, admin: Api, label: WorkspaceKey, sim: SimulatorState
) -> tuple[WorkspaceKey, WorkspaceKey]:
    other = await create_workspace_with_key(papp.context.database, name="Label Two")
    await make_presave_link(admin, label, slug="soon")
    await make_presave_link(admin, other, slug="other")
    release_on_spotify(sim)
    return label, other


async def test_a_workspace_app_signs_in_refreshes_and_fulfils_as_itself_the_others_keep_ours(
    papp: Application,
    sim: SimulatorState,
    clock: FrozenClock,
    two_labels: tuple[WorkspaceKey, WorkspaceKey],
) -> None:
    own, other = two_labels
    register_app(sim, LABEL_APP, LABEL_SECRET)
    await bring_app(papp, own.workspace_id, LABEL_APP, LABEL_SECRET)

    authorize, done = await sign_in(papp, "soon", "fan-one")
    assert authorize.params["client_id"] == LABEL_APP
    assert done.status_code == 303, done.text
    authorize, done = await sign_in(papp, "other", "fan-two")
    assert authorize.params["client_id"] == DEMO_CLIENT_ID
    assert done.status_code == 303, done.text

    async with papp.context.database.sessionmaker() as session:
        grants = (await session.execute(select(ServiceGrant))).scalars().all()
    assert {g.workspace_id: g.app_client_id for g in grants} == {
        own.workspace_id: LABEL_APP,
        other.workspace_id: DEMO_CLIENT_ID,
    }
    # The service itself holds each consent under the app that asked for it.
    assert {(g.user_id, g.client_id) for g in sim.grants if g.service == "spotify"} == {
        ("fan-one", LABEL_APP),
        ("fan-two", DEMO_CLIENT_ID),
    }

    clock.advance(timedelta(days=5))  # past the release: the access tokens have expired
    sim.set_clock(clock.now())
    limiter = MemoryLimiter()
    await fulfil_everything(engine_of(papp, clock, limiter))

    done_by = {p.workspace_id: (p.state, p.final_reason) for p in (await presaves(papp)).values()}
    assert done_by == {
        own.workspace_id: (PresaveState.done, "saved"),
        other.workspace_id: (PresaveState.done, "saved"),
    }
    writes = {(e.user_id, e.app_id) for e in sim.ledger.query(service="spotify")}
    assert ("fan-one", LABEL_APP) in writes
    assert ("fan-two", DEMO_CLIENT_ID) in writes
    assert ("fan-one", DEMO_CLIENT_ID) not in writes
    # One bucket per app: the label's requests were counted apart from the instance's.
    assert {"spotify", f"spotify:{LABEL_APP}"} <= set(limiter._next_slot)


async def test_a_secret_the_service_refuses_is_a_visible_configuration_error_not_offered(
    papp: Application,
    sim: SimulatorState,
    admin: Api,
    two_labels: tuple[WorkspaceKey, WorkspaceKey],
) -> None:
    own, other = two_labels
    register_app(sim, LABEL_APP, LABEL_SECRET)
    await bring_app(papp, own.workspace_id, LABEL_APP, "a-wrong-secret")

    _authorize, refused = await sign_in(papp, "soon", "fan-one")
    assert refused.status_code == 502  # the code exchange: invalid_client
    async with papp.context.database.sessionmaker() as session:
        row = await session.get(ServiceCredential, (own.workspace_id, "spotify"))
        assert row is not None
        assert row.rejected_reason is not None
        assert "invalid_client" in row.rejected_reason or "Invalid client" in row.rejected_reason

    # Offer only what can finish: Spotify is a reminder on this workspace's page now...
    links = (await admin.get(own, "/links")).json()["items"]
    campaign = (await admin.get(own, f"/links/{links[0]['id']}/campaign")).json()
    spotify = next(o for o in campaign["services"] if o["service"] == "spotify")
    assert spotify["mode"] == "reminder", spotify
    assert "refused by the service" in (spotify["reason"] or ""), spotify
    # ...and still offered to the other workspace's fans, through the instance's app.
    links = (await admin.get(other, "/links")).json()["items"]
    campaign = (await admin.get(other, f"/links/{links[0]['id']}/campaign")).json()
    spotify = next(o for o in campaign["services"] if o["service"] == "spotify")
    assert spotify["mode"] == "direct_save", spotify

    findings = [f for f in await run_checks(papp.context.settings) if f.level == "fail"]
    assert any(
        f.area == f"workspace app spotify {own.workspace_id}" and LABEL_APP in f.message
        for f in findings
    ), findings

    # Replacing the secret clears the error: the service is offered again.
    await bring_app(papp, own.workspace_id, LABEL_APP, LABEL_SECRET)
    links = (await admin.get(own, "/links")).json()["items"]
    campaign = (await admin.get(own, f"/links/{links[0]['id']}/campaign")).json()
    spotify = next(o for o in campaign["services"] if o["service"] == "spotify")
    assert spotify["mode"] == "direct_save", spotify


async def test_a_changed_app_leaves_the_old_apps_grants_needing_reauth_and_says_so(
    papp: Application,
    sim: SimulatorState,
    clock: FrozenClock,
    two_labels: tuple[WorkspaceKey, WorkspaceKey],
) -> None:
    own, _other = two_labels
    register_app(sim, LABEL_APP, LABEL_SECRET)
    register_app(sim, SECOND_APP, SECOND_SECRET)
    await bring_app(papp, own.workspace_id, LABEL_APP, LABEL_SECRET)
    _authorize, done = await sign_in(papp, "soon", "fan-one")
    assert done.status_code == 303, done.text

    await bring_app(papp, own.workspace_id, SECOND_APP, SECOND_SECRET)
    async with papp.context.database.sessionmaker() as session:
        stale = await integrations.grants_of_other_apps(
            session, own.workspace_id, "spotify", SECOND_APP
        )
    assert stale == 1

    clock.advance(timedelta(days=5))
    sim.set_clock(clock.now())
    at_consent = len(sim.ledger.query(service="spotify", user="fan-one"))  # the follow
    await fulfil_everything(engine_of(papp, clock, MemoryLimiter()))
    presave = (await presaves(papp))[own.workspace_id]
    assert presave.state == PresaveState.needs_reauth
    assert presave.final_reason is not None
    assert LABEL_APP in presave.final_reason
    assert "sign in again" in presave.final_reason
    # Nothing was written at release with either app on the fan's behalf.
    assert len(sim.ledger.query(service="spotify", user="fan-one")) == at_consent


async def test_reconfiguring_the_instance_reaches_the_apps_workspaces_bring(
    papp: Application, two_labels: tuple[WorkspaceKey, WorkspaceKey], sim: SimulatorState
) -> None:
    own, other = two_labels
    register_app(sim, LABEL_APP, LABEL_SECRET)
    await bring_app(papp, own.workspace_id, LABEL_APP, LABEL_SECRET)
    apps = papp.context.apps
    assert apps is not None
    before = (await apps.source(own.workspace_id)).get("spotify")
    assert before is not None
    assert before.settings.default_market == "US"

    # The operator changes a Spotify setting and the instance's connectors are rebuilt.
    reconfigure(papp, lambda settings: setattr(settings.spotify, "default_market", "GB"))

    label_app = (await apps.source(own.workspace_id)).get("spotify")
    ours = (await apps.source(other.workspace_id)).get("spotify")
    assert label_app is not None
    assert ours is not None
    # The label's app is built again like the new instance connector, still as its own app.
    assert label_app.settings.default_market == "GB"
    assert app_client_id(label_app) == LABEL_APP
    assert ours.settings.default_market == "GB"
    assert app_client_id(ours) == DEMO_CLIENT_ID
