"""Pre-saving through the OAuth round trip (Spotify in the embedded simulator)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from launchlink.app import Application
from launchlink.kit.clock import FrozenClock
from launchlink.models import ConsentRecord, Fan, OAuthAttempt, Presave, PresaveEvent, ServiceGrant
from launchlink.models.presave import ConsentKind, PendingContact, PresaveState, ServiceMode
from launchlink.presave.service import grant_tokens
from launchlink.simulator.state import SimulatorState
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import (
    SPOTIFY_ARTIST_ID,
    Inbox,
    approve_on_simulator,
    browser_for,
    confirm_address,
    csrf_of,
    make_presave_link,
    open_page,
    opt_in_path,
    presave_via_spotify,
)


async def _count(app: Application, model: type) -> int:
    async with app.context.database.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_fan_presaves_on_spotify_and_confirms_the_address_they_typed(
    papp: Application,
    admin: Api,
    label: WorkspaceKey,
    fan: httpx.AsyncClient,
    inbox: Inbox,
    clock: FrozenClock,
) -> None:
    await make_presave_link(admin, label)
    finished = await presave_via_spotify(
        fan, form={"email": "Fan@Example.com", "email_consent": "1"}
    )
    assert finished.status_code == 303
    confirmation = await fan.get(finished.headers["location"])
    assert confirmation.status_code == 200
    assert "You&#39;re all set" in confirmation.text or "You're all set" in confirmation.text
    assert "/revoke/" in confirmation.text
    assert "calendar.ics" in confirmation.text
    assert 'id="email-pending"' in confirmation.text
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
        grant = (await session.execute(select(ServiceGrant))).scalar_one()
        fan_row = (await session.execute(select(Fan))).scalar_one()
        consents = list((await session.execute(select(ConsentRecord))).scalars())
        attempt = (await session.execute(select(OAuthAttempt))).scalar_one()
        pending = (await session.execute(select(PendingContact))).scalar_one()
    assert presave.state is PresaveState.waiting
    assert presave.mode is ServiceMode.direct_save
    assert presave.service == "spotify"
    assert presave.due_at.isoformat() == "2026-03-06T00:00:00+00:00"
    assert presave.actions["follow_artists"] == [SPOTIFY_ARTIST_ID]
    # The typed address is not the fan's until its owner confirms it.
    assert fan_row.email is None
    assert fan_row.email_consent_at is None
    assert (pending.email, pending.fan_id, pending.confirmed_at) == (
        "fan@example.com",
        fan_row.id,
        None,
    )
    [opt_in] = inbox.to("fan@example.com")
    assert opt_in["Subject"] == "Confirm your email address for Midnight Cartography"
    assert "List-Unsubscribe" not in opt_in
    assert attempt.outcome == "approved"
    assert {c.kind for c in consents} == {ConsentKind.connect_service}

    clock.advance(timedelta(minutes=7))
    confirmed = await confirm_address(fan, inbox, "fan@example.com")
    assert confirmed.status_code == 200
    assert "Your email address is confirmed" in confirmed.text
    async with papp.context.database.sessionmaker() as session:
        fan_row = (await session.execute(select(Fan))).scalar_one()
        consents = list((await session.execute(select(ConsentRecord))).scalars())
    assert fan_row.email == "fan@example.com"
    assert fan_row.email_consent_at == clock.now()
    [email_consent] = [c for c in consents if c.kind is ConsentKind.email]
    assert email_consent.at == clock.now()
    assert email_consent.fan_id == fan_row.id
    assert email_consent.presave_id == presave.id
    again = await fan.get(opt_in_path(inbox, "fan@example.com"))
    assert again.status_code == 200
    assert "Already confirmed" in again.text
    connect = next(c for c in consents if c.kind is ConsentKind.connect_service)
    assert "user-library-modify" in connect.scopes
    assert connect.consent_text_id is not None
    assert connect.ip_hash is not None
    assert "127.0.0.1" not in (connect.ip_hash or "")
    # Tokens are encrypted at rest and readable with the instance's keys.
    assert papp.context.cipher is not None
    tokens = grant_tokens(grant, papp.context.cipher)
    assert tokens.access_token.encode() not in (grant.access_token or b"")
    assert tokens.refresh_token is not None


async def test_the_artist_is_followed_right_after_consent(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient, sim: SimulatorState
) -> None:
    await make_presave_link(admin, label)
    await presave_via_spotify(fan, username="follower")
    follows = sim.ledger.query(
        service="spotify", user="follower", item=f"spotify:artist:{SPOTIFY_ARTIST_ID}"
    )
    assert follows, "the consent-time follow never reached Spotify"
    async with papp.context.database.sessionmaker() as session:
        presave = (await session.execute(select(Presave))).scalar_one()
    assert presave.outcome["consent_time"][0]["status"] == "done"


async def test_presaving_twice_with_the_same_account_gives_the_same_presave(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    first = await presave_via_spotify(fan, username="same-fan")
    second = await presave_via_spotify(fan, username="same-fan")
    assert first.status_code == second.status_code == 303
    assert await _count(papp, Presave) == 1
    assert await _count(papp, ServiceGrant) == 1
    assert await _count(papp, PresaveEvent) == 1


async def test_a_replayed_callback_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    html = await open_page(fan)
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "spotify"}
    )
    answered = await approve_on_simulator(fan, started.headers["location"], username="replayer")
    callback = httpx.URL(answered.headers["location"]).raw_path.decode()
    assert (await fan.get(callback)).status_code == 303
    replay = await fan.get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert await _count(papp, Presave) == 1


async def test_a_state_from_another_browser_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    html = await open_page(fan)
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "spotify"}
    )
    answered = await approve_on_simulator(fan, started.headers["location"], username="victim")
    callback = httpx.URL(answered.headers["location"]).raw_path.decode()
    async with browser_for(papp) as attacker:
        stolen = await attacker.get(callback)
    assert stolen.status_code == 400
    assert "another browser" in stolen.text
    assert await _count(papp, Presave) == 0
    assert await _count(papp, ServiceGrant) == 0


async def test_a_tampered_state_is_refused_and_nothing_is_saved(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    html = await open_page(fan)
    started = await fan.post(
        "/presave/soon/connect", data={"csrf": csrf_of(html), "service": "spotify"}
    )
    answered = await approve_on_simulator(fan, started.headers["location"], username="tamper")
    url = httpx.URL(answered.headers["location"])
    tampered = url.copy_set_param("state", url.params["state"][:-2] + "xx")
    response = await fan.get(tampered.raw_path.decode())
    assert response.status_code == 400
    assert "not one we started" in response.text
    assert await _count(papp, Presave) == 0
    assert await _count(papp, Fan) == 0


async def test_a_denied_consent_saves_nothing(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    html = await open_page(fan)
    started = await fan.post(
        "/presave/soon/connect",
        data={
            "csrf": csrf_of(html),
            "service": "spotify",
            "email": "a@b.example",
            "email_consent": "1",
        },
    )
    answered = await approve_on_simulator(
        fan, started.headers["location"], username="nope", decision="deny"
    )
    response = await fan.get(httpx.URL(answered.headers["location"]).raw_path.decode())
    assert response.status_code == 200
    assert "Nothing was saved" in response.text
    assert await _count(papp, Fan) == 0
    assert await _count(papp, ConsentRecord) == 0
    async with papp.context.database.sessionmaker() as session:
        attempt = (await session.execute(select(OAuthAttempt))).scalar_one()
    assert attempt.outcome == "denied"


async def test_a_form_without_its_csrf_token_is_refused(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label)
    await open_page(fan)
    missing = await fan.post("/presave/soon/connect", data={"service": "spotify"})
    forged = await fan.post("/presave/soon/connect", data={"service": "spotify", "csrf": "forged"})
    assert missing.status_code == forged.status_code == 403
    assert await _count(papp, OAuthAttempt) == 0


async def test_an_invalid_email_or_phone_is_shown_back_and_nothing_is_saved(
    papp: Application, admin: Api, label: WorkspaceKey, fan: httpx.AsyncClient
) -> None:
    await make_presave_link(admin, label, campaign={"sms_opt_in": True})
    csrf = csrf_of(await open_page(fan))
    bad_email = await fan.post(
        "/presave/soon/connect",
        data={"csrf": csrf, "service": "spotify", "email": "not-an-email", "email_consent": "1"},
    )
    bad_phone = await fan.post(
        "/presave/soon/remind",
        data={"csrf": csrf, "service": "", "phone": "0123", "sms_consent": "1"},
    )
    assert bad_email.status_code == bad_phone.status_code == 400
    assert "valid email address" in bad_email.text
    assert 'value="not-an-email"' in bad_email.text
    assert "international form" in bad_phone.text
    assert await _count(papp, OAuthAttempt) == 0
    assert await _count(papp, Fan) == 0
