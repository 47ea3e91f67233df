"""The emulated chain: jobs go DEPLOYING → DEPLOYED → MATCHED on the clock (apillon-api.md §8).

Transitions are applied lazily, in the order of their due times, whenever the state is read or written; each
transition stamps `update_time` with its due time, not with the moment it was noticed. Stored files move through
their statuses the same way (see `storage.settle_files`).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from apillon_mcp.emulator.records import CloudFunction, Job, JobStatus, RecordStatus


@dataclass(frozen=True)
class LifecycleDelays:
    """How long the emulated chain takes.

    A new job is DEPLOYING; `deploy_seconds` after creation its deploy transaction confirms (DEPLOYED, on-chain
    `jobId` assigned), and `match_seconds` after that a processor is matched (MATCHED, the function's active job).
    With the defaults a job is MATCHED 30 s after it was created.

    A stored file is UPLOADED_TO_S3 when its upload session ends; `ipfs_seconds` later it is UPLOADED_TO_IPFS (its
    CIDs published) and `pin_seconds` after that PINNED_TO_CRUST.
    """

    deploy_seconds: float = 10
    match_seconds: float = 20
    ipfs_seconds: float = 5
    pin_seconds: float = 10

    def schedule(self, created: datetime) -> tuple[datetime, datetime]:
        """(deploy_due, match_due) for a job created at `created`."""
        deployed = created + timedelta(seconds=self.deploy_seconds)
        return deployed, deployed + timedelta(seconds=self.match_seconds)

    def schedule_file(self, stored: datetime) -> tuple[datetime, datetime]:
        """(ipfs_due, pin_due) for a file stored at `stored`."""
        on_ipfs = stored + timedelta(seconds=self.ipfs_seconds)
        return on_ipfs, on_ipfs + timedelta(seconds=self.pin_seconds)


class Phase(IntEnum):
    DEPLOY = 0
    MATCH = 1


@dataclass(frozen=True)
class _Event:
    due: datetime
    phase: Phase
    job: Job


def settle(
    functions: Mapping[str, CloudFunction],
    jobs: Iterable[Job],
    now: datetime,
    next_chain_id: Callable[[], int],
    matched: Callable[[Job, datetime], None],
) -> None:
    """Apply every transition due at or before `now`, oldest first; `matched` hears of each match and its time."""
    job_list = list(jobs)
    for event in sorted(_due_events(job_list, now), key=lambda event: (event.due, event.job.id, event.phase)):
        if event.phase is Phase.DEPLOY:
            _confirm_deploy(event.job, next_chain_id(), event.due)
        else:
            siblings = [job for job in job_list if job.function_uuid == event.job.function_uuid]
            if _match(event.job, functions[event.job.function_uuid], siblings, event.due):
                matched(event.job, event.due)


def _due_events(jobs: list[Job], now: datetime) -> list[_Event]:
    events = []
    for job in jobs:
        if job.status == RecordStatus.DELETED:
            continue
        if not job.deploy_done and job.deploy_due <= now:
            events.append(_Event(job.deploy_due, Phase.DEPLOY, job))
        if not job.match_done and job.match_due <= now:
            events.append(_Event(job.match_due, Phase.MATCH, job))
    return events


def _confirm_deploy(job: Job, chain_id: int, at: datetime) -> None:
    job.deploy_done = True
    job.job_id = chain_id
    # A job superseded (set INACTIVE) while still DEPLOYING comes back when its transaction confirms.
    if job.job_status in (JobStatus.DEPLOYING, JobStatus.INACTIVE):
        job.job_status = JobStatus.DEPLOYED
    job.update_time = at


def _match(job: Job, function: CloudFunction, siblings: list[Job], at: datetime) -> bool:
    job.match_done = True
    if job.job_status != JobStatus.DEPLOYED or job.job_id is None or job.status != RecordStatus.ACTIVE:
        return False
    job.job_status, job.update_time = JobStatus.MATCHED, at
    function.active_job_id, function.status, function.update_time = job.id, RecordStatus.ACTIVE, at
    # Every other live job is superseded, newer pending ones included (the backend's race, kept on purpose).
    for other in siblings:
        if other is not job and other.status == RecordStatus.ACTIVE and other.job_status != JobStatus.INACTIVE:
            other.job_status, other.update_time = JobStatus.INACTIVE, at
    return True
