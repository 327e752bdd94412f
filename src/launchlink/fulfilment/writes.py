"""Group commits: the engine's per-job writes, many jobs to one transaction.

A job awaits each of its writes before going on (the crash-safety rules of
docs/fulfilment.md hold per job): the "in flight" marker is durable before the service is
called, an action's completion is durable before the next action, the final state closes
the job. What changes is how many jobs share a commit: whoever submits while no flush is
running becomes the flusher and commits everything pending, then whatever arrived
meanwhile, until nothing is left; the others only wait for their batch. No timer, no
background task: a lone job is committed at once, a busy worker commits hundreds of jobs
per transaction.

Every write is fenced by ``lease_owner`` in one set-based statement; a job whose lease was
re-claimed gets :class:`LeaseLost` and nothing of it is written, while the rest of the
batch commits.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from launchlink.events import Event, FulfilmentCompleted, emit_many
from launchlink.fulfilment.executor import idempotency_key
from launchlink.fulfilment.gate import WriteGate
from launchlink.fulfilment.repository import (
    ActionRecord,
    ClaimedJob,
    FinalState,
    FulfilmentRepository,
    LeaseLost,
)
from launchlink.kit.clock import Clock
from launchlink.models.presave import PresaveState
from launchlink.ops import metrics

IN_FLIGHT = "in_flight"


class FlushAborted(Exception):
    """The flush carrying this write was cancelled (the worker is stopping)."""


@dataclass(eq=False)
class Write:
    job: ClaimedJob
    owner: str
    records: list[ActionRecord] = field(default_factory=list)
    executing: bool = False
    """Move the pre-save from ``resolving`` to ``executing`` (first call of this claim)."""
    final: FinalState | None = None
    revoke: str | None = None
    """With a final ``needs_reauth``: the grant is dead (reason stored on it)."""
    event: Event | None = None
    """Emitted into the outbox in the transaction of the final write (the outcome)."""
    future: asyncio.Future[None] | None = None


class GroupWriter:
    def __init__(self, gate: WriteGate, clock: Clock) -> None:
        self._gate = gate
        self._clock = clock
        self._pending: list[Write] = []
        self._flushing = False
        self.flushes = 0
        self.writes = 0

    async def submit(self, write: Write) -> None:
        """Return once ``write`` is committed; raise :class:`LeaseLost` if it was fenced off."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        write.future = future
        self._pending.append(write)
        if not self._flushing:
            self._flushing = True
            try:
                while self._pending:
                    batch, self._pending = self._pending, []
                    await self._flush(batch)
            except BaseException:
                if future.done() and not future.cancelled():
                    future.exception()  # ours is lost with the cancelled flush: retrieved
                raise
            finally:
                self._flushing = False
                left, self._pending = self._pending, []
                _abort(left)
        await future

    async def _flush(self, batch: list[Write]) -> None:
        try:
            lost = await self._commit(batch)
        except Exception as error:
            if len(batch) > 1:
                # One bad write must not fail its neighbours: commit them one by one.
                for write in batch:
                    await self._flush([write])
                return
            # The job takes the failure down its own error path (retry with backoff).
            assert batch[0].future is not None
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        except BaseException:
            _abort(batch)
            raise
        self.flushes += 1
        self.writes += len(batch)
        _observe_delays([write for write in batch if write.job.job_id not in lost], self._clock)
        for write in batch:
            assert write.future is not None
            if write.future.done():
                continue
            if write.job.job_id in lost:
                write.future.set_exception(LeaseLost(str(write.job.job_id)))
            else:
                write.future.set_result(None)

    async def _commit(self, batch: Sequence[Write]) -> set[UUID]:
        now = self._clock.now()
        async with self._gate.transaction() as session:
            repository = FulfilmentRepository(session)
            held: set[UUID] = set()
            by_owner: dict[tuple[str, bool], list[UUID]] = defaultdict(list)
            for write in batch:
                by_owner[(write.owner, write.final is not None)].append(write.job.job_id)
            for (owner, final), job_ids in by_owner.items():
                if final:
                    values: dict[str, object] = {
                        "open": False,
                        "closed_at": now,
                        "lease_owner": None,
                    }
                else:
                    values = {"waiting_for": None}
                held |= await repository.fence_many(job_ids, owner, **values)
            kept = [write for write in batch if write.job.job_id in held]
            await repository.mark_executing_many(
                [w.job.presave_id for w in kept if w.executing], now
            )
            await repository.upsert_actions(
                [
                    (w.job.presave_id, idempotency_key(w.job.presave_id, r.kind), r)
                    for w in kept
                    for r in w.records
                ]
            )
            finals = [w for w in kept if w.final is not None]
            await repository.finish_many([w.final for w in finals if w.final is not None], now)
            forget: list[UUID] = []
            for write in finals:
                assert write.final is not None
                grant = write.job.grant
                if write.final.state == PresaveState.needs_reauth:
                    if grant is not None and write.revoke is not None:
                        await repository.revoke_grant(grant.id, write.revoke, now)
                    # The fan's "we couldn't save it" receipt is planned by messaging
                    # from the presave.needs_reauth emitted below.
                elif grant is not None:
                    forget.append(grant.id)
            await repository.forget_tokens_of_finished(forget, now)
            # After the changes they report (the pre-saves' rows are locked by now).
            await emit_many(session, [w.event for w in finals if w.event is not None])
            completed = await repository.completed_services(
                (w.job.release_id, w.job.service) for w in finals
            )
            await emit_many(
                session,
                [
                    FulfilmentCompleted(
                        occurred_at=now,
                        workspace_id=workspace_id,
                        release_id=release_id,
                        service=service,
                        counts=counts,
                    )
                    for release_id, workspace_id, service, counts in completed
                ],
            )
        return {write.job.job_id for write in batch} - held


def _observe_delays(committed: Sequence[Write], clock: Clock) -> None:
    """Time from each saved pre-save's release instant in its territory (its ``due_at``:
    local midnight in local mode) to the commit that made it final."""
    now = clock.now()
    for write in committed:
        if write.final is not None and write.final.state in _SAVED:
            metrics.fulfilment_delay(write.job.service, (now - write.job.due_at).total_seconds())


_SAVED = frozenset({PresaveState.done, PresaveState.partial})


def _abort(writes: list[Write]) -> None:
    for write in writes:
        if write.future is not None and not write.future.done():
            write.future.set_exception(FlushAborted())
