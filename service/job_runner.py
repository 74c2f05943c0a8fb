"""Runs one valid kickoff: claim the job, produce its report, record the end."""

import asyncio
import time
import uuid
from collections.abc import Callable

import structlog

from service.cancellation import being_cancelled
from service.database import Pool
from service.errors import ReportFailed, VersionConflict
from service.execution_log import JobStatus
from service.job_store import Claimed, JobStore, Outcome, Skipped
from service.kickoff import KickoffEvent
from service.lease import Lease
from service.reports.engine import ReportPlan, generate, plan_report
from service.reports.templates import TemplateCatalogue
from service.retry_policy import RetryPolicy
from service.storage import ReportStorage, object_key

log = structlog.get_logger(__name__)

UNKNOWN_TEMPLATE_NAME = "Unknown report template"
STOPPED_REASON = (
    "the worker stopped before the report finished; the job will be retried"
)
_FILE_NAMESPACE = uuid.UUID("3D0E2F4A-8B1C-4E5D-9A6F-7C8B9D0E1F2A")


def attempt_file_storage_id(job_id: str, attempt: int) -> str:
    """The fileStorageId of one attempt's report.

    Derived, not random, so that a later attempt can find and remove the file
    of an attempt whose worker died between storing it and recording it.
    """
    return uuid.uuid5(_FILE_NAMESPACE, f"{job_id}/{attempt}").hex.upper()


class JobRunner:
    """Takes a kickoff from claim to a recorded SUCCESS or FAILED."""

    def __init__(
        self,
        *,
        store: JobStore,
        pool: Pool,
        storage: ReportStorage,
        catalogue: TemplateCatalogue,
        policy: RetryPolicy,
        owner: str,
        lease_seconds: float,
        on_finished: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._pool = pool
        self._storage = storage
        self._catalogue = catalogue
        self._policy = policy
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._on_finished = on_finished

    async def run(self, event: KickoffEvent, traceparent: str | None = None) -> None:
        """Claim, run and record one attempt, or leave the job as it is."""
        accepted = await self._store.accept(
            event,
            default_rpt_name=self._default_name(event),
            owner=self._owner,
            lease_seconds=self._lease_seconds,
        )
        if isinstance(accepted, Skipped):
            log.info(
                "kickoff_skipped",
                why=accepted.reason.value,
                status=accepted.log.rpt_stat_cd.value if accepted.log else None,
            )
            return

        log.info("job_claimed", attempt=accepted.attempt)
        lease = Lease(self._store, accepted, self._owner, self._lease_seconds)
        attempt = asyncio.create_task(self._attempt(accepted, traceparent))
        heartbeat = asyncio.create_task(lease.keep(attempt))
        try:
            outcome = await attempt
        except asyncio.CancelledError:
            if being_cancelled():  # a shutdown or a revocation
                await asyncio.shield(self._hand_back(accepted, traceparent))
                raise
            return  # the lease was lost: the job is another worker's now
        finally:
            heartbeat.cancel()
        # Short and decisive: let a shutdown wait for it rather than cut it.
        await asyncio.shield(self._record(accepted, outcome))

    async def _attempt(self, claimed: Claimed, traceparent: str | None) -> Outcome:
        started = time.monotonic()
        plan: ReportPlan | None = None
        try:
            plan = plan_report(self._catalogue, claimed.request)
            await self._remove_unrecorded_files(claimed, plan.writer.extension)
            file_storage_id = attempt_file_storage_id(claimed.log.id, claimed.attempt)
            result = await generate(
                self._pool, self._storage, plan, claimed.request, file_storage_id
            )
        except ReportFailed as failure:
            return self._failed(claimed, failure, plan, started, traceparent)
        return Outcome(
            status=JobStatus.SUCCESS,
            final=True,
            changes={
                "file_storage_id": file_storage_id,
                "rec_count": result.rec_count,
                "run_duration": _elapsed_ms(started),
                "curr_search_spec": plan.search_spec,
                "curr_sort_spec": plan.sort_spec,
            },
            file=result.file,
            file_key=result.key,
            traceparent=traceparent,
        )

    async def _remove_unrecorded_files(self, claimed: Claimed, extension: str) -> None:
        """Delete the files earlier attempts may have stored and never recorded.

        None of them can record one any more: this attempt's claim moved the
        version on, so their transitions would lose the version check.
        """
        for attempt in range(1, claimed.attempt):
            file_id = attempt_file_storage_id(claimed.log.id, attempt)
            key = object_key(file_id, extension)
            try:
                await self._storage.delete(key)
            except Exception as exc:  # a leftover file must not fail the job
                log.warning("unrecorded_file_not_removed", key=key, error=repr(exc))

    def _failed(
        self,
        claimed: Claimed,
        failure: ReportFailed,
        plan: ReportPlan | None,
        started: float,
        traceparent: str | None,
    ) -> Outcome:
        final = self._policy.is_final(claimed.attempt, retryable=failure.retryable)
        log.warning(
            "job_attempt_failed",
            reason=failure.message[:500],
            retryable=failure.retryable,
            final=final,
        )
        return Outcome(
            status=JobStatus.FAILED,
            final=final,
            changes={
                "reason": failure.message[:4000],
                "run_duration": _elapsed_ms(started),
                "curr_search_spec": plan.search_spec if plan else None,
                "curr_sort_spec": plan.sort_spec if plan else None,
            },
            retry_in_seconds=None
            if final
            else self._policy.delay_seconds(claimed.attempt),
            traceparent=traceparent,
        )

    async def _record(self, claimed: Claimed, outcome: Outcome) -> None:
        try:
            await self._store.finish(claimed, outcome)
        except VersionConflict:
            # Another worker took the job over (our lease expired): its attempt
            # stands, and the file of ours must not outlive it.
            if outcome.file_key is not None:
                await self._storage.delete(outcome.file_key)
            log.warning("job_result_dropped", status=outcome.status.value)
            return
        self._on_finished()
        event = "job_succeeded" if outcome.status is JobStatus.SUCCESS else "job_failed"
        log.info(event, final=outcome.final, **_loggable(outcome))

    async def _hand_back(self, claimed: Claimed, traceparent: str | None) -> None:
        """Give an interrupted job back: FAILED, retryable and due at once.

        Never final, whatever the attempt count: the worker stopped, the job
        did not fail. Its kickoff stays uncommitted, so the partition's next
        owner claims it again; the retrial producer would too.
        """
        outcome = Outcome(
            status=JobStatus.FAILED,
            final=False,
            changes={"reason": STOPPED_REASON, "run_duration": None},
            retry_in_seconds=0,
            traceparent=traceparent,
        )
        log.warning("job_handed_back", attempt=claimed.attempt)
        try:
            await self._record(claimed, outcome)
        except Exception as exc:  # the lease expiry rescues the job instead
            log.warning("job_hand_back_failed", error=repr(exc))

    def _default_name(self, event: KickoffEvent) -> str:
        template = self._catalogue.get(event.report.rpt_id) if event.report else None
        return template.name if template else UNKNOWN_TEMPLATE_NAME


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _loggable(outcome: Outcome) -> dict[str, object]:
    keys = ("file_storage_id", "rec_count", "run_duration", "reason")
    return {k: outcome.changes[k] for k in keys if outcome.changes.get(k) is not None}
