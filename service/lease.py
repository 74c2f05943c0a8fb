"""Keeps a claimed job's lease alive while its report runs.

A worker that stops heartbeating loses the job when the lease expires: the
retrial producer then re-publishes its kickoff and another worker takes it
over. A heartbeat that finds the lease taken cancels the attempt at once, so
no work is wasted on a job that is no longer ours.
"""

import asyncio

import structlog

from service.database import OUTAGES
from service.job_store import Claimed, JobStore

log = structlog.get_logger(__name__)


class Lease:
    """The lease of one attempt."""

    def __init__(
        self, store: JobStore, claimed: Claimed, owner: str, seconds: float
    ) -> None:
        self._store = store
        self._claimed = claimed
        self._owner = owner
        self._seconds = seconds
        self.lost = False

    async def keep(self, attempt: "asyncio.Task[object]") -> None:
        """Renew every third of the lease until cancelled; cancel `attempt`
        when the lease turns out to be someone else's."""
        while True:
            await asyncio.sleep(self._seconds / 3)
            try:
                renewed = await self._store.renew_lease(
                    self._claimed, self._owner, self._seconds
                )
            except OUTAGES as exc:
                # Not renewed this time; the version check still guards the
                # result if the lease runs out meanwhile.
                log.warning("lease_renewal_failed", error=repr(exc))
                continue
            if not renewed:
                log.warning("lease_lost", attempt=self._claimed.attempt)
                self.lost = True
                attempt.cancel()
                return
            log.debug("lease_renewed", attempt=self._claimed.attempt)
