"""Fulfil one claimed job from start to final state; queue due work.

:class:`FulfilmentEngine` is what workers run. ``schedule`` turns due pre-saves into jobs
(and fans of territories that went live early); ``claim`` leases a batch for one service;
``process`` takes one job through resolve → execute → final state, or reschedules it:

* every action's completion is committed right after it succeeds (the last one together
  with the final state) and completed actions are skipped when a job is re-claimed;
* ``RateLimited`` pauses the service app for ``Retry-After`` (missing: a default; huge:
  an alert) and puts the job back for then, without counting an attempt;
* ``Transient`` failures back off exponentially with jitter, up to ``max_attempts``;
* ``AuthRevoked`` ends in ``needs_reauth`` (grant marked dead, tokens deleted, an email
  reminder queued when the fan gave an address);
* ``NotAllowed``/``NotSupported``/other 4xx fail that action with the service's reason;
* a configuration error (:func:`launchlink.presave.modes.configuration_problem`: missing
  credentials or keys, no way to find the release; ``Unavailable``; the service refusing
  the app's own credentials) is permanent: the pre-save ends ``failed`` with a reason
  naming what to configure, at once, logged in one line per service and reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from launchlink.connectors.base import Connector, TokenSet
from launchlink.connectors.errors import (
    APP_REFUSALS,
    AuthRevoked,
    ConnectorError,
    NotAllowed,
    NotFound,
    NotSupported,
    PlatformError,
    RateLimited,
    Transient,
    Unavailable,
)
from launchlink.connectors.registry import app_client_id, limit_key
from launchlink.db import Database
from launchlink.events import (
    FulfilmentServicePaused,
    PresaveCancelled,
    PresaveDone,
    PresaveFailed,
    PresaveNeedsReauth,
    PresaveOutcome,
    PresavePartial,
    about_presave,
    emit,
)
from launchlink.fulfilment.executor import (
    GrantTokens,
    PlanError,
    PlannedAction,
    already_saved,
    idempotency_key,
    plan_actions,
)
from launchlink.fulfilment.gate import WriteGate
from launchlink.fulfilment.limiter import RateLimiter, acquire
from launchlink.fulfilment.repository import (
    ActionRecord,
    ClaimedJob,
    FinalState,
    FulfilmentRepository,
    LeaseLost,
    ReleaseInfo,
)
from launchlink.fulfilment.resolver import (
    NeverReleased,
    NotLiveYet,
    Resolver,
    ServicePausedError,
    keys_of,
)
from launchlink.fulfilment.retry import next_release_poll, pause_for, transient_delay
from launchlink.fulfilment.settings import FulfilmentSettings
from launchlink.fulfilment.writes import IN_FLIGHT, FlushAborted, GroupWriter, Write
from launchlink.kit.clock import Clock
from launchlink.kit.crypto import TokenCipher
from launchlink.models.presave import PresaveState
from launchlink.ops import metrics
from launchlink.presave.modes import WorkspaceConnectors, configuration_problem

logger = logging.getLogger(__name__)

ConnectorSource = Callable[[str], Connector]

FINAL_EVENT: dict[PresaveState, type[PresaveOutcome]] = {
    PresaveState.done: PresaveDone,
    PresaveState.partial: PresavePartial,
    PresaveState.needs_reauth: PresaveNeedsReauth,
    PresaveState.failed: PresaveFailed,
    PresaveState.cancelled: PresaveCancelled,
}
CONFIGURATION = "configuration"
"""Prefix of the final reason of a pre-save failed by a configuration error."""


@dataclass
class _Outcome:
    records: dict[str, ActionRecord] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)
    """Kinds whose record is already in the database (skipped at the final write)."""

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "action": record.kind,
                "status": record.status,
                "targets": record.targets,
                "confirmed": record.confirmed,
                "reason": record.reason,
            }
            for record in self.records.values()
        ]


class FulfilmentEngine:
    def __init__(
        self,
        *,
        database: Database,
        connectors: ConnectorSource,
        limiter: RateLimiter,
        cipher: TokenCipher,
        settings: FulfilmentSettings,
        clock: Clock,
        apps: WorkspaceConnectors | None = None,
    ) -> None:
        self.database = database
        self.connectors = connectors
        self.apps = apps
        """Workspaces' own service apps: their jobs run (and are rate-limited) as them."""
        self.limiter = limiter
        self.settings = settings
        self.clock = clock
        self.gate = WriteGate(database)
        self.resolver = Resolver(database, limiter, settings, clock, gate=self.gate)
        self.tokens = GrantTokens(database, cipher, clock, gate=self.gate)
        self.writes = GroupWriter(self.gate, clock)
        self._releases: dict[UUID, tuple[ReleaseInfo, float]] = {}
        self._misconfigured_logged: set[tuple[str, str]] = set()

    def rate(self, service: str) -> float:
        return self.settings.rate_limits.get(service, 1.0)

    async def _connector_for(self, job: ClaimedJob) -> tuple[Connector | None, str | None]:
        """The connector of the app the job's grant belongs to, or a reason it needs the
        fan to sign in again: the workspace's own app where it has one on the service, else
        the instance's. Tokens are used and refreshed only with the app that issued them."""
        try:
            instance: Connector | None = self.connectors(job.service)
        except KeyError:
            instance = None
        connector = instance
        own = False
        if self.apps is not None:
            source = await self.apps.source(job.workspace_id)
            connector = source.get(job.service)
            own = bool(getattr(source, "is_own", lambda _s: False)(job.service))
        granted = job.grant.app_client_id if job.grant is not None else None
        if granted is None or connector is None or not connector.available:
            return connector, None
        if granted == app_client_id(connector):
            return connector, None
        if (
            own
            and instance is not None
            and instance.available
            and granted == app_client_id(instance)
        ):
            return instance, None  # granted before the workspace brought its own app
        return connector, (
            f"the fan signed in through the {job.service} app {granted}, which this "
            "workspace no longer uses; they need to sign in again"
        )

    # -- scheduling ---------------------------------------------------------------------

    async def schedule(self, *, batch: int = 2000) -> int:
        """Queue every due pre-save (and territories live early); returns how many."""
        total = 0
        while True:
            async with self.gate.transaction() as session:
                count = await FulfilmentRepository(session).promote_due(self.clock.now(), batch)
            total += count
            if count < batch:
                break
        if self.settings.early_probe_hours > 0:
            total += await self._probe_early()
        return total

    async def _probe_early(self) -> int:
        now = self.clock.now()
        horizon = now + timedelta(hours=self.settings.early_probe_hours)
        async with self.database.transaction() as session:
            groups = await FulfilmentRepository(session).early_probe_groups(now, horizon)
        promoted = 0
        for release_id, service, territory in groups:
            try:
                connector = self.connectors(service)
            except KeyError:
                continue
            release = await self._release(release_id)
            if (
                release is None
                or not configuration_problem(connector, service, keys_of(release)).ok
            ):
                continue
            try:
                found = await self.resolver.resolve(connector, release, territory)
            except (ConnectorError, ServicePausedError) as error:
                logger.info("early-release probe of %s failed: %s", service, error)
                continue
            if isinstance(found, NotLiveYet | NeverReleased):
                continue
            async with self.gate.transaction() as session:
                promoted += await FulfilmentRepository(session).promote_early(
                    release_id=release_id,
                    service=service,
                    territory=territory,
                    now=self.clock.now(),
                    before=horizon,
                )
        return promoted

    async def claim(self, service: str, owner: str, limit: int) -> list[ClaimedJob]:
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        async with self.gate.transaction() as session:
            return await FulfilmentRepository(session).claim(
                service=service, owner=owner, now=now, lease_until=lease_until, limit=limit
            )

    async def extend_leases(self, job_ids: list[UUID], owner: str) -> None:
        until = self.clock.now() + timedelta(seconds=self.settings.lease_seconds)
        async with self.gate.transaction() as session:
            await FulfilmentRepository(session).extend_leases(job_ids, owner, until)

    async def give_back(self, job: ClaimedJob, owner: str) -> None:
        async with self.gate.transaction() as session:
            await FulfilmentRepository(session).release_lease(job.job_id, owner, self.clock.now())

    # -- one job ------------------------------------------------------------------------

    async def process(self, job: ClaimedJob, owner: str) -> None:
        try:
            await self._process(job, owner)
        except LeaseLost:
            logger.warning("lease of job %s lost; another worker has it", job.job_id)
        except FlushAborted:
            await self.give_back(job, owner)
        except Exception as error:
            logger.exception("unexpected failure fulfilling pre-save %s", job.presave_id)
            await self._retry_or_fail(job, owner, f"internal error: {type(error).__name__}", {})

    async def _process(self, job: ClaimedJob, owner: str) -> None:
        grant = job.grant
        if job.state.is_final:  # cancelled by the fan's revoke (presave.service.revoke)
            await self._close_only(job, owner)
            return
        if grant is None or grant.revoked_at is not None or grant.access_token is None:
            await self._needs_reauth(job, owner, "no live authorisation is stored", _Outcome())
            return
        connector, stale = await self._connector_for(job)
        if stale is not None:
            await self._needs_reauth(job, owner, stale, _Outcome(), revoke=True)
            return
        release = await self._release(job.release_id)
        if release is None:
            await self._finish(
                job, owner, PresaveState.failed, "the release was deleted", _Outcome()
            )
            return
        problem = configuration_problem(connector, job.service, keys_of(release))
        if not problem.ok or connector is None:
            await self._misconfigured(job, owner, problem.reason or "not configured", _Outcome())
            return
        done = _Outcome(records=dict(job.records))
        try:
            await self._resolve_and_execute(job, owner, connector, release, done)
        except ServicePausedError as paused:
            await self._reschedule(
                job,
                owner,
                self._after_pause(paused.until_epoch),
                "service_paused",
                None,
                count=False,
            )
        except RateLimited as limited:
            await self._rate_limited(job, owner, connector.service, limited, limit_key(connector))
        except AuthRevoked as revoked:
            await self._needs_reauth(job, owner, _reason(revoked), done, revoke=True)
        except (Unavailable, NotSupported) as error:
            await self._misconfigured(job, owner, _reason(error), done)
        except NotAllowed as refused:
            # Outside an action (finding the release, refreshing the grant): asking again
            # will not help, whoever is to blame.
            if refused.reason in APP_REFUSALS:
                await self._app_refused(job, connector, refused)
                await self._misconfigured(job, owner, _reason(refused), done)
            else:
                await self._finish(job, owner, PresaveState.failed, _reason(refused), done)
        except Transient as error:
            await self._retry_or_fail(job, owner, _reason(error), done.records)

    async def _resolve_and_execute(
        self,
        job: ClaimedJob,
        owner: str,
        connector: Connector,
        release: ReleaseInfo,
        outcome: _Outcome,
    ) -> None:
        territory = (job.country or "").upper()
        found = await self.resolver.resolve(connector, release, territory)
        if isinstance(found, NotLiveYet):
            await self._reschedule(
                job, owner, found.next_check_at, "release_not_live", None, count=False
            )
            return
        if isinstance(found, NeverReleased):
            await self._finish(job, owner, PresaveState.failed, found.reason, outcome)
            return
        try:
            plan = plan_actions(job, connector, release, found)
        except PlanError as error:
            await self._finish(job, owner, PresaveState.failed, str(error), outcome)
            return
        tokens = self.tokens.tokens_of(job)
        assert tokens is not None
        tokens = await self.tokens.fresh(job, connector, tokens)
        pending = [
            a
            for a in plan
            if outcome.records.get(a.kind, None) is None or outcome.records[a.kind].status != "done"
        ]
        executing = job.state != PresaveState.executing
        stop_reason: str | None = None
        for index, action in enumerate(pending):
            is_last = index == len(pending) - 1
            if stop_reason is not None:
                outcome.records[action.kind] = self._record(action, "failed", stop_reason)
                continue
            previous = outcome.records.get(action.kind)
            interrupted = previous is not None and previous.status == IN_FLIGHT
            # A worker died during this call: ask the service before writing again.
            if interrupted and await self._already_there(job, connector, tokens, action):
                outcome.records[action.kind] = ActionRecord(
                    action.kind,
                    "done",
                    list(action.targets),
                    True,
                    "already in the library (checked after an interrupted call)",
                    self.clock.now(),
                )
                if not is_last:
                    await self._write(job, owner, [outcome.records[action.kind]], outcome)
                continue
            try:
                tokens = await self._perform(
                    job, owner, connector, tokens, action, outcome, executing=executing
                )
                executing = False
            except NotAllowed as refused:
                reason = _reason(refused)
                outcome.records[action.kind] = self._record(action, "failed", reason)
                if refused.reason in ("user_not_registered", "app_disabled", "invalid_client"):
                    stop_reason = reason  # every further call would be refused the same way
                if refused.reason in APP_REFUSALS:
                    await self._app_refused(job, connector, refused)
                continue
            except NotFound as missing:
                # The release exists but this account cannot see it yet (its country).
                if await self._wait_for_fan_territory(job, owner, _reason(missing)):
                    return
                outcome.records[action.kind] = self._record(
                    action, "failed", f"not available to this account: {_reason(missing)}"
                )
                continue
            except NotSupported as unsupported:
                outcome.records[action.kind] = self._record(action, "failed", _reason(unsupported))
                continue
            except PlatformError as rejected:
                if rejected.status is not None and rejected.status >= 500:
                    raise Transient(rejected.message, service=rejected.service) from rejected
                outcome.records[action.kind] = self._record(action, "failed", _reason(rejected))
                continue
            if not is_last:
                await self._write(job, owner, [outcome.records[action.kind]], outcome)
        await self._settle(job, owner, outcome)

    async def _write(
        self,
        job: ClaimedJob,
        owner: str,
        records: list[ActionRecord],
        outcome: _Outcome,
        *,
        executing: bool = False,
    ) -> None:
        await self.writes.submit(Write(job, owner, records=records, executing=executing))
        outcome.stored.update(record.kind for record in records if record.status != IN_FLIGHT)

    async def _already_there(
        self, job: ClaimedJob, connector: Connector, tokens: TokenSet, action: PlannedAction
    ) -> bool:
        """Whether the service already holds what an interrupted call was writing."""
        scopes = job.grant.scopes if job.grant is not None else ()
        check = already_saved(connector, action, scopes)
        if check is None:
            return False
        paused = await acquire(self.limiter, limit_key(connector), self.rate(connector.service))
        if paused is not None:
            raise ServicePausedError(paused)
        try:
            found, _tokens = await self.tokens.run(job, connector, tokens, check)
        except (NotAllowed, NotFound, NotSupported) as error:
            logger.info("cannot check %s before repeating a write: %s", connector.service, error)
            return False
        except PlatformError as error:
            if error.status is not None and error.status >= 500:
                raise Transient(error.message, service=error.service) from error
            return False
        return bool(found)

    async def _perform(
        self,
        job: ClaimedJob,
        owner: str,
        connector: Connector,
        tokens: TokenSet,
        action: PlannedAction,
        outcome: _Outcome,
        *,
        executing: bool,
    ) -> TokenSet:
        paused = await acquire(
            self.limiter, limit_key(connector), self.rate(connector.service), action.cost
        )
        if paused is not None:
            raise ServicePausedError(paused)
        # Durable before the call (and after the wait for a slot, so a job killed while
        # queueing is not taken for an interrupted call): whoever re-claims knows the
        # outcome is unknown, and checks first where the service allows it.
        await self._write(
            job, owner, [self._record(action, IN_FLIGHT, None)], outcome, executing=executing
        )
        key = idempotency_key(job.presave_id, action.kind)

        async def call(current: TokenSet) -> Any:
            return await action.run(connector, current, key)

        result, tokens = await self.tokens.run(job, connector, tokens, call)
        reason = None
        if result.already_done:
            reason = "already in the library"
        if not result.confirmed:
            reason = "accepted; the service does not confirm"
        outcome.records[action.kind] = ActionRecord(
            action.kind,
            "done",
            list(result.targets or action.targets),
            result.confirmed,
            reason,
            self.clock.now(),
        )
        return tokens

    def _record(self, action: PlannedAction, status: str, reason: str | None) -> ActionRecord:
        return ActionRecord(
            action.kind, status, list(action.targets), True, reason, self.clock.now()
        )

    async def _settle(self, job: ClaimedJob, owner: str, outcome: _Outcome) -> None:
        statuses = [record.status for record in outcome.records.values()]
        failures = [r for r in outcome.records.values() if r.status == "failed"]
        if failures and len(failures) == len(statuses):
            state, reason = (
                PresaveState.failed,
                "; ".join(f"{r.kind}: {r.reason}" for r in failures),
            )
        elif failures:
            state = PresaveState.partial
            reason = "; ".join(f"{r.kind} failed: {r.reason}" for r in failures)
        else:
            state, reason = PresaveState.done, "saved"
        await self._finish(job, owner, state, reason, outcome)

    # -- endings and reschedules ------------------------------------------------------------

    async def _finish(
        self,
        job: ClaimedJob,
        owner: str,
        state: PresaveState,
        reason: str,
        outcome: _Outcome,
        *,
        revoke: str | None = None,
    ) -> None:
        actions = outcome.as_json()
        final = FinalState(job.presave_id, state, reason, actions)
        unsaved = [
            record
            for record in outcome.records.values()
            if not (record.kind in outcome.stored and record.status == "done")
        ]

        event = FINAL_EVENT[state](
            **about_presave(job.presave_id, job, occurred_at=self.clock.now()),
            reason=reason,
            outcome=actions,
        )
        await self.writes.submit(
            Write(job, owner, records=unsaved, final=final, revoke=revoke, event=event)
        )

    async def _app_refused(
        self, job: ClaimedJob, connector: Connector, refused: NotAllowed
    ) -> None:
        """A workspace's own app refused by the service: recorded once, shown in Settings
        and the doctor, and not offered until replaced (the instance's app: the log)."""
        if self.apps is None or refused.reason != "invalid_client":
            return
        source = await self.apps.source(job.workspace_id)
        if getattr(source, "is_own", lambda _s: False)(job.service):
            await self.apps.reject(job.workspace_id, connector, _reason(refused))

    async def _misconfigured(
        self, job: ClaimedJob, owner: str, reason: str, outcome: _Outcome
    ) -> None:
        """Fail the pre-save for good: retrying cannot fix what only an operator can."""
        if (job.service, reason) not in self._misconfigured_logged:
            self._misconfigured_logged.add((job.service, reason))
            logger.error("%s pre-saves fail until this is configured: %s", job.service, reason)
        await self._finish(job, owner, PresaveState.failed, f"{CONFIGURATION}: {reason}", outcome)

    async def _close_only(self, job: ClaimedJob, owner: str) -> None:
        async with self.gate.transaction() as session:
            await FulfilmentRepository(session).close(job, owner, self.clock.now())

    async def _needs_reauth(
        self, job: ClaimedJob, owner: str, reason: str, outcome: _Outcome, *, revoke: bool = False
    ) -> None:
        await self._finish(
            job,
            owner,
            PresaveState.needs_reauth,
            reason,
            outcome,
            revoke=f"refused by the service: {reason}"[:200] if revoke else None,
        )

    async def _reschedule(
        self,
        job: ClaimedJob,
        owner: str,
        at: datetime,
        waiting_for: str,
        error: str | None,
        *,
        count: bool,
    ) -> None:
        async with self.gate.transaction() as session:
            await FulfilmentRepository(session).reschedule(
                job, owner, at=at, waiting_for=waiting_for, error=error, count_attempt=count
            )

    async def _retry_or_fail(
        self, job: ClaimedJob, owner: str, reason: str, records: dict[str, ActionRecord]
    ) -> None:
        attempt = job.attempts + 1
        if attempt >= self.settings.max_attempts:
            unknown = "the service did not answer; the save may or may not have happened"
            outcome = _Outcome(
                {
                    kind: record
                    if record.status != IN_FLIGHT
                    else ActionRecord(kind, "failed", record.targets, False, unknown, record.at)
                    for kind, record in records.items()
                },
                {kind for kind, record in records.items() if record.status != IN_FLIGHT},
            )
            await self._finish(
                job,
                owner,
                PresaveState.partial
                if any(r.status == "done" for r in records.values())
                else PresaveState.failed,
                f"gave up after {attempt} temporary failures: {reason}",
                outcome,
            )
            return
        await self._reschedule(
            job,
            owner,
            self.clock.now() + transient_delay(attempt, self.settings),
            "transient",
            reason,
            count=True,
        )

    async def _rate_limited(
        self,
        job: ClaimedJob,
        owner: str,
        service: str,
        limited: RateLimited,
        key: str | None = None,
    ) -> None:
        metrics.provider_rate_limited(service)
        seconds, alarming = pause_for(limited.retry_after, self.settings)
        reason = f"HTTP 429 from {service}; Retry-After {limited.retry_after!r}"
        # The app's own bucket: a label's app being paused leaves the instance's running.
        await self.limiter.pause(key or service, seconds, reason)
        if alarming:
            logger.error(
                "ALERT: %s asked us to wait %.0f s (Retry-After); %s is paused, other "
                "services continue. Resume early with `launchlink fulfil --resume %s`.",
                service,
                seconds,
                service,
                service,
            )
            # Instance-wide (no workspace), in its own transaction: the pause is not a row.
            async with self.gate.transaction() as session:
                await emit(
                    session,
                    FulfilmentServicePaused(
                        occurred_at=self.clock.now(),
                        workspace_id=None,
                        service=service,
                        reason=reason,
                        until=self.clock.now() + timedelta(seconds=seconds),
                    ),
                )
        await self._reschedule(
            job,
            owner,
            self.clock.now() + timedelta(seconds=seconds),
            "service_paused" if alarming else "rate_limited",
            reason,
            count=False,
        )

    async def _wait_for_fan_territory(self, job: ClaimedJob, owner: str, reason: str) -> bool:
        now = self.clock.now()
        next_check = next_release_poll(job.due_at, job.claims, now, self.settings)
        if next_check is None:
            return False
        await self._reschedule(job, owner, next_check, "release_not_live", reason, count=False)
        return True

    def _after_pause(self, until_epoch: float) -> datetime:
        # Pauses are real epoch seconds (shared across machines); jobs use the app clock.
        return self.clock.now() + timedelta(seconds=max(0.0, until_epoch - time.time()))

    async def _release(self, release_id: UUID) -> ReleaseInfo | None:
        cached = self._releases.get(release_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        async with self.database.transaction() as session:
            info = await FulfilmentRepository(session).release_info(release_id)
        if info is not None:
            self._releases[release_id] = (info, time.monotonic() + 60)
        return info


def _reason(error: ConnectorError) -> str:
    reason = str(error)
    if isinstance(error, NotAllowed) and error.reason == "user_not_registered":
        reason = (
            "the Spotify app is in development mode and this fan is not on its allow-list "
            f"({reason})"
        )
    return reason[:400]
