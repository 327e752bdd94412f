"""What to do for one pre-save on one service, and doing one action with the fan's grant.

``plan_actions`` turns the promise stored on the pre-save (``Presave.actions``) plus the
resolved release into calls. The accepted shape (documented in docs/fulfilment.md)::

    {"save_release": true,          # default true: the release (album; tracks too when
     "save_tracks": true,           #   the service saves tracks, default true)
     "follow_artists": ["<service artist id>"],     # as pre-save stores them, per service
     "follow_playlists": ["<service playlist id>"],
     "follow_timing": "consent" | "release",        # consent: already done at sign-in
     "follow": ["<artist uuid or service artist id>" | {"kind": "artist"|"playlist",
                "id": "..."}],                      # older/hand-made form, also accepted
     "playlist": {"mode": "add_to_new_playlist", "name": "..."}
               | {"mode": "add_to_fan_playlist", "id": "..."}
               | {"mode": "follow", "id": "..."}}

Token handling (:class:`GrantTokens`): tokens are decrypted only in memory; a refresh runs
under a per-grant lock and inside a transaction that stores the new tokens — committed
BEFORE they are used, because rotated refresh tokens are single-use. A refresh that finds
the stored refresh token changed since it was read uses the stored (newer) tokens instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from launchlink.connectors.base import ActionResult, Capability, Connector, TokenSet
from launchlink.connectors.errors import AccessTokenExpired, AuthRevoked, NotSupported
from launchlink.db import Database
from launchlink.fulfilment.gate import WriteGate
from launchlink.fulfilment.repository import ClaimedJob, FulfilmentRepository, ReleaseInfo
from launchlink.fulfilment.resolver import Resolved
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.models.presave import ServiceGrant

SPOTIFY_URIS_PER_CALL = 40
ONE_REQUEST_PER_ITEM = frozenset({"deezer", "soundcloud", "youtube"})
"""Services without a batch write: saving an album and 2 tracks is 3 requests."""
LIBRARY_READ_SCOPE = {"spotify": "user-library-read"}

Run = Callable[[Connector, TokenSet, str], Awaitable[ActionResult]]
T = TypeVar("T")


def requests_for(service: str, items: int) -> float:
    """HTTP requests one write of ``items`` ids costs on ``service`` (limiter slots).

    The limiter must count requests, not actions: counting Deezer's album + 2 tracks as
    one slot sent three times the ceiling and ran into its quota (code 4, a 5 s pause).
    """
    if service == "spotify":
        return float(math.ceil(items / SPOTIFY_URIS_PER_CALL))
    if service in ONE_REQUEST_PER_ITEM:
        return float(items)
    if service == "tidal":
        return 1.0 if items <= 1 else 2.0  # albums and tracks are two collections
    return 1.0


@dataclass(frozen=True)
class PlannedAction:
    kind: str
    targets: tuple[str, ...]
    run: Run
    cost: float = 1.0


class PlanError(Exception):
    """The promise cannot be kept on this service whatever we try (reason for the fan)."""


def idempotency_key(presave_id: UUID, kind: str) -> str:
    return f"ll-{presave_id.hex}-{kind}"


def _follow_targets(
    entries: list[Any], service: str, release: ReleaseInfo
) -> tuple[list[str], list[str]]:
    artists: list[str] = []
    playlists: list[str] = []
    by_uuid = {str(key): ids for key, ids in release.artist_service_ids.items()}
    for entry in entries:
        if isinstance(entry, dict):
            kind = str(entry.get("kind", "artist"))
            if entry.get("service") not in (None, service):
                continue
            value = str(entry.get("id") or entry.get("service_id") or "")
            target = playlists if kind == "playlist" else artists
        else:
            value, target = str(entry), artists
        if value in by_uuid:
            value = str(by_uuid[value].get(service) or "")
        if value and value not in target:
            target.append(value)
    return artists, playlists


def plan_actions(
    job: ClaimedJob, connector: Connector, release: ReleaseInfo, resolved: Resolved
) -> list[PlannedAction]:
    actions = job.actions
    plan: list[PlannedAction] = []
    capabilities = connector.capabilities
    if actions.get("save_release", True):
        tracks: tuple[str, ...] = ()
        if actions.get("save_tracks", True) and Capability.SAVE_TRACKS in capabilities:
            tracks = resolved.track_ids
        if Capability.SAVE_RELEASE not in capabilities and (
            Capability.SAVE_TRACKS not in capabilities or not resolved.track_ids
        ):
            raise PlanError(f"{connector.service} cannot save releases")
        if Capability.SAVE_RELEASE not in capabilities:
            # YouTube keeps a release by its tracks (liked videos), whatever save_tracks says.
            tracks = resolved.track_ids
        album = resolved.album_id
        cost = requests_for(connector.service, 1 + len(tracks))

        async def save(c: Connector, t: TokenSet, key: str) -> ActionResult:
            return await c.save_release(t, album_id=album, track_ids=tracks, idempotency_key=key)

        plan.append(PlannedAction("save_release", (album, *tracks), save, cost))
    follows: list[Any] = list(actions.get("follow") or [])
    if actions.get("follow_timing") != "consent":
        # Pre-save stores service ids per service; consent-time follows were done at sign-in.
        follows += list(actions.get("follow_artists") or [])
        follows += [{"kind": "playlist", "id": p} for p in actions.get("follow_playlists") or []]
    artists, playlists = _follow_targets(follows, connector.service, release)
    if artists and Capability.FOLLOW_ARTIST in capabilities:

        async def follow(c: Connector, t: TokenSet, key: str) -> ActionResult:
            return await c.follow_artists(t, artist_ids=artists, idempotency_key=key)

        plan.append(
            PlannedAction(
                "follow_artists",
                tuple(artists),
                follow,
                requests_for(connector.service, len(artists)),
            )
        )
    playlist = actions.get("playlist") or {}
    playlist_id = str(playlist.get("playlist_id") or playlist.get("id") or "")
    if playlist.get("mode") == "follow" and playlist_id:
        playlists.append(playlist_id)
    for followed in dict.fromkeys(playlists):
        if Capability.PLAYLIST_FOLLOW not in capabilities:
            break

        async def follow_playlist(
            c: Connector, t: TokenSet, key: str, playlist_id: str = followed
        ) -> ActionResult:
            return await c.follow_playlist(t, playlist_id=playlist_id, idempotency_key=key)

        plan.append(PlannedAction("follow_playlist", (followed,), follow_playlist))
        break  # one playlist follow per pre-save (the campaign's); extra ones are ignored
    tracks_to_add = resolved.track_ids
    can_add = Capability.PLAYLIST_ADD in capabilities and bool(tracks_to_add)
    if playlist.get("mode") in ("add_to_fan_playlist", "add") and playlist_id and can_add:

        async def add(c: Connector, t: TokenSet, key: str) -> ActionResult:
            return await c.add_to_playlist(
                t, playlist_id=playlist_id, track_ids=tracks_to_add, idempotency_key=key
            )

        plan.append(
            PlannedAction(
                "add_to_playlist",
                tracks_to_add,
                add,
                requests_for(connector.service, len(tracks_to_add)),
            )
        )
    elif playlist.get("mode") == "add_to_new_playlist" and can_add:
        name = str(playlist.get("name") or "launchlink")

        async def create_and_add(c: Connector, t: TokenSet, key: str) -> ActionResult:
            # Creating a playlist is not idempotent on any service: a crash between the
            # creation and our commit can leave the fan an empty duplicate playlist.
            created = await c.create_playlist(t, name=name, idempotency_key=f"{key}-create")
            if not created.created_id:
                return created
            return await c.add_to_playlist(
                t, playlist_id=created.created_id, track_ids=tracks_to_add, idempotency_key=key
            )

        plan.append(
            PlannedAction(
                "add_to_new_playlist",
                tracks_to_add,
                create_and_add,
                1 + requests_for(connector.service, len(tracks_to_add)),
            )
        )
    if not plan:
        raise PlanError(f"nothing this pre-save promised can be done on {connector.service}")
    return plan


def already_saved(
    connector: Connector, action: PlannedAction, scopes: tuple[str, ...]
) -> Callable[[TokenSet], Awaitable[bool]] | None:
    """A read that tells whether ``action``'s write already happened, where the service
    offers one and the grant may use it (Spotify ``GET /me/library/contains`` with
    ``user-library-read``); ``None`` elsewhere (the write is then repeated: set-like)."""
    scope = LIBRARY_READ_SCOPE.get(connector.service)
    contains = getattr(connector, "library_contains", None)
    if action.kind != "save_release" or scope not in scopes or contains is None:
        return None
    album, *tracks = action.targets
    uris = [f"spotify:album:{album}", *(f"spotify:track:{track}" for track in tracks)]

    async def check(tokens: TokenSet) -> bool:
        answers = await contains(tokens, uris)
        return bool(answers) and all(answers)

    return check


class GrantTokens:
    """Decrypts, refreshes and stores a fan's tokens; one lock per grant in this process."""

    def __init__(
        self,
        database: Database,
        cipher: TokenCipher,
        clock: Clock,
        *,
        gate: WriteGate | None = None,
    ) -> None:
        self._database = database
        self._gate = gate or WriteGate(database)
        self._cipher = cipher
        self._clock = clock
        self._locks: dict[UUID, tuple[asyncio.Lock, int]] = {}
        """grant → (its refresh lock, how many hold or await it)."""

    def tokens_of(self, job: ClaimedJob) -> TokenSet | None:
        grant = job.grant
        if grant is None or grant.access_token is None:
            return None
        return TokenSet(
            access_token=self._cipher.decrypt(grant.access_token),
            refresh_token=self._cipher.decrypt(grant.refresh_token)
            if grant.refresh_token
            else None,
            expires_at=grant.access_expires_at,
            scopes=grant.scopes,
        )

    async def fresh(self, job: ClaimedJob, connector: Connector, tokens: TokenSet) -> TokenSet:
        """Tokens usable now: refreshed (and stored) first when they expire soon."""
        if tokens.refresh_token is None or not tokens.expires_within(self._clock):
            return tokens
        try:
            return await self.refresh(job, connector, tokens)
        except NotSupported:
            return tokens  # the service has no refresh: use the token while it works

    async def refresh(self, job: ClaimedJob, connector: Connector, tokens: TokenSet) -> TokenSet:
        assert job.grant is not None
        grant_id = job.grant.id
        async with self._grant_lock(grant_id):
            if self._gate.serialises:
                return await self._refresh_then_store(grant_id, connector, tokens)
            # PostgreSQL: the grant's row lock keeps other processes out during the call.
            async with self._database.transaction() as session:
                grant = await FulfilmentRepository(session).grant_for_update(grant_id)
                live = self._live_pair(grant, tokens, connector.service)
                if live is not tokens and not live.expires_within(self._clock):
                    return live
                fresh = await connector.refresh(live)
                self._store(grant, fresh)
            # The transaction above has committed: the rotated refresh token is on disk.
            return fresh

    @contextlib.asynccontextmanager
    async def _grant_lock(self, grant_id: UUID) -> AsyncIterator[None]:
        """This process's refreshes of one grant, one at a time. The lock lives only while
        someone holds or awaits it: every fan's grant is refreshed once on release day (an
        hour-long token issued days before), and a lock kept per grant grew the worker by
        a lock and a UUID per fan (docs/benchmarks.md)."""
        lock, users = self._locks.get(grant_id, (asyncio.Lock(), 0))
        self._locks[grant_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[grant_id]
            if users == 1:
                del self._locks[grant_id]
            else:
                self._locks[grant_id] = (lock, users - 1)

    async def _refresh_then_store(
        self, grant_id: UUID, connector: Connector, tokens: TokenSet
    ) -> TokenSet:
        """SQLite: no transaction is held across the HTTP call. A read transaction that
        writes after another connection committed fails (SQLITE_BUSY_SNAPSHOT), which
        would lose a rotated refresh token the service already issued; and a write lock
        held across the call would stall every writer. The per-grant lock serialises this
        process's refreshes (run one worker per SQLite file)."""
        async with self._database.transaction() as session:
            grant = await FulfilmentRepository(session).grant_for_update(grant_id)
            live = self._live_pair(grant, tokens, connector.service)
        if live is not tokens and not live.expires_within(self._clock):
            return live
        fresh = await connector.refresh(live)
        async with self._gate.transaction() as session:
            grant = await FulfilmentRepository(session).grant_for_update(grant_id)
            self._live_pair(grant, tokens, connector.service)  # revoked meanwhile: keep it so
            self._store(grant, fresh)
        # Committed before use: the rotated refresh token is on disk.
        return fresh

    def _live_pair(self, grant: ServiceGrant | None, tokens: TokenSet, service: str) -> TokenSet:
        """``tokens``, or the stored pair if someone refreshed since they were read."""
        if grant is None or grant.revoked_at is not None or grant.access_token is None:
            raise AuthRevoked("the grant was revoked or its tokens deleted", service=service)
        stored_refresh = self._cipher.decrypt(grant.refresh_token) if grant.refresh_token else None
        if stored_refresh == tokens.refresh_token:
            return tokens
        return TokenSet(
            access_token=self._cipher.decrypt(grant.access_token),
            refresh_token=stored_refresh,
            expires_at=grant.access_expires_at,
            scopes=tokens.scopes,
        )

    def _store(self, grant: ServiceGrant | None, fresh: TokenSet) -> None:
        assert grant is not None
        grant.access_token = self._cipher.encrypt(fresh.access_token)
        if fresh.refresh_token:
            grant.refresh_token = self._cipher.encrypt(fresh.refresh_token)
        grant.access_expires_at = fresh.expires_at
        grant.updated_at = self._clock.now()

    async def run(
        self,
        job: ClaimedJob,
        connector: Connector,
        tokens: TokenSet,
        call: Callable[[TokenSet], Awaitable[T]],
    ) -> tuple[T, TokenSet]:
        """Run ``call``; on an expired access token refresh once (stored first), retry once."""
        try:
            return await call(tokens), tokens
        except AccessTokenExpired:
            if tokens.refresh_token is None:
                raise AuthRevoked(
                    "the access token was refused and the service issues no refresh token",
                    service=connector.service,
                ) from None
        fresh = await self.refresh(job, connector, tokens)
        try:
            return await call(fresh), fresh
        except AccessTokenExpired as error:
            raise AuthRevoked(
                "the access token was refused right after a refresh", service=connector.service
            ) from error
