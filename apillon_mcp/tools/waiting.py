"""Waiting for a new job to serve: poll its status until MATCHED, INACTIVE or the end of the wait."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from apillon_mcp.apillon import ApillonClient, ApillonError, Job, JobStatus
from apillon_mcp.context import AppState

# Every 5 s for the first minute (the sandbox matches in 30 s, so its answer is at most 5 s late), then every 20 s:
# on Apillon a match takes minutes.
_QUICK_POLL_SECONDS = 5.0
_QUICK_PHASE_SECONDS = 60.0
_SLOW_POLL_SECONDS = 20.0

WaitEnd = Literal["matched", "waiting", "superseded"]
WaitOutcome = Literal["matched", "waiting", "not_waited", "superseded"]

Wait = Annotated[bool, Field(description="Wait until it serves (MATCHED).")]
WAIT_SECONDS = 240
Timeout = Annotated[int, Field(ge=0, le=900, description="Longest wait, seconds.")]


@dataclass(frozen=True)
class Waited:
    job: Job
    outcome: WaitEnd
    seconds: float
    """How long this call waited."""

    def sentence(self) -> str:
        """What the wait found, with the time the status changed when Apillon says it (not when it was seen)."""
        if self.outcome == "matched":
            return f"MATCHED{_since_created(self.job)}."
        if self.outcome == "superseded":
            return f"INACTIVE{_since_created(self.job)}: another job of the function reached MATCHED after it."
        return f"Still {self.job.job_status.name} when the wait ended after {self.seconds:.0f} s."


def _since_created(job: Job) -> str:
    if job.create_time is None or job.update_time is None:
        return ""
    return f" {(job.update_time - job.create_time).total_seconds():.0f} s after the job was created"


async def wait_until_serving(
    state: AppState,
    client: ApillonClient,
    job: Job,
    *,
    timeout_seconds: float,
    report: Callable[[str], Awaitable[None]],
) -> Waited:
    """Poll the job until it is MATCHED or INACTIVE, or `timeout_seconds` pass; `report` hears each poll."""
    started = state.clock()
    while True:
        elapsed = state.clock() - started
        try:
            located = await state.jobs.find(client, job.job_uuid)
        except ApillonError:
            located = None  # a failed poll is not a failed deploy: keep the last known status and poll again
        if located is not None:
            job = located.job
        if job.job_status is JobStatus.MATCHED:
            return Waited(job, "matched", elapsed)
        if job.job_status is JobStatus.INACTIVE:
            return Waited(job, "superseded", elapsed)
        if elapsed >= timeout_seconds:
            return Waited(job, "waiting", elapsed)
        await report(f"Job {job.job_status.name} after {elapsed:.0f} s; waiting for MATCHED.")
        delay = _QUICK_POLL_SECONDS if elapsed < _QUICK_PHASE_SECONDS else _SLOW_POLL_SECONDS
        await state.sleep(min(delay, timeout_seconds - elapsed))
