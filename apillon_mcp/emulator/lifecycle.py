"""The emulated chain: jobs go DEPLOYING → DEPLOYED → MATCHED on the clock (apillon-api.md §8).

Transitions are applied lazily, in the order of their due times, at the start of every transaction that reads
or writes the state, by whichever process serving the sandbox gets there first; each transition stamps
`update_time` with its due time, not with the moment it was noticed. Stored files move through their statuses
the same way (see `storage.settle_files`).
"""

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from apillon_mcp.emulator.records import JobStatus, RecordStatus
from apillon_mcp.emulator.tables import micros


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


_DEPLOY, _MATCH = 0, 1


def settle_jobs(db: sqlite3.Connection, now: datetime) -> None:
    """Apply every job transition due at or before `now`, oldest first (deploys before matches due together)."""
    events = db.execute(
        f"""SELECT due, id, phase FROM (
            SELECT deploy_due AS due, id, {_DEPLOY} AS phase FROM jobs
            WHERE deploy_done = 0 AND deploy_due <= :now AND status != {RecordStatus.DELETED}
            UNION ALL
            SELECT match_due, id, {_MATCH} FROM jobs
            WHERE match_done = 0 AND match_due <= :now AND status != {RecordStatus.DELETED}
        ) ORDER BY due, id, phase""",
        {"now": micros(now)},
    ).fetchall()
    for due, job_id, phase in events:
        if phase == _DEPLOY:
            _confirm_deploy(db, job_id, due)
        else:
            _match(db, job_id, due)


def _confirm_deploy(db: sqlite3.Connection, job_id: int, at: int) -> None:
    (chain_id,) = db.execute(
        "UPDATE meta SET next_chain_job_id = next_chain_job_id + 1 RETURNING next_chain_job_id - 1"
    ).fetchone()
    # A job superseded (set INACTIVE) while still DEPLOYING comes back when its transaction confirms.
    db.execute(
        f"""UPDATE jobs SET deploy_done = 1, job_id = ?, update_time = ?,
            job_status = CASE WHEN job_status IN ({JobStatus.DEPLOYING}, {JobStatus.INACTIVE})
                THEN {JobStatus.DEPLOYED} ELSE job_status END
        WHERE id = ?""",
        (chain_id, at, job_id),
    )


def _match(db: sqlite3.Connection, job_id: int, at: int) -> None:
    (job_status, chain_id, status, function_uuid) = db.execute(
        "UPDATE jobs SET match_done = 1 WHERE id = ? RETURNING job_status, job_id, status, function_uuid", (job_id,)
    ).fetchone()
    if job_status != JobStatus.DEPLOYED or chain_id is None or status != RecordStatus.ACTIVE:
        return
    db.execute(f"UPDATE jobs SET job_status = {JobStatus.MATCHED}, update_time = ? WHERE id = ?", (at, job_id))
    db.execute(
        f"""UPDATE functions SET active_job_id = ?, status = {RecordStatus.ACTIVE}, update_time = ?
        WHERE function_uuid = ?""",
        (job_id, at, function_uuid),
    )
    # Every other live job is superseded, newer pending ones included (the backend's race, kept on purpose).
    db.execute(
        f"""UPDATE jobs SET job_status = {JobStatus.INACTIVE}, update_time = ?
        WHERE function_uuid = ? AND id != ? AND status = {RecordStatus.ACTIVE}
        AND job_status != {JobStatus.INACTIVE}""",
        (at, function_uuid, job_id),
    )
    db.execute("DELETE FROM gateway_cache WHERE function_uuid = ?", (function_uuid,))
