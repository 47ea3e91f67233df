"""The emulated Apillon's rules: projects, API keys, cloud functions, jobs, credits, storage (no HTTP here).

The rows live in a SQLite database (`database`), in memory or in a sandbox's file. Every public operation is one
transaction that starts by applying the job and file transitions due by then, so several processes on one file
see each other's changes, and an operation that fails leaves nothing behind.
"""

import dataclasses
import secrets
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from apillon_mcp.emulator import schema
from apillon_mcp.emulator.auth import check_access
from apillon_mcp.emulator.clock import Clock, SystemClock
from apillon_mcp.emulator.database import Database
from apillon_mcp.emulator.errors import EmulatedError, field_error
from apillon_mcp.emulator.gateway_config import GatewayConfig
from apillon_mcp.emulator.lifecycle import LifecycleDelays, settle_jobs
from apillon_mcp.emulator.listing import FUNCTION_COLUMNS, JOB_COLUMNS, ListQuery, Where, order_and_page
from apillon_mcp.emulator.records import (
    ApiKey,
    Bucket,
    CloudFunction,
    File,
    Job,
    JobStatus,
    Project,
    RecordStatus,
    Role,
    Service,
)
from apillon_mcp.emulator.storage import StorageState, settle_files
from apillon_mcp.emulator.tables import API_KEYS, BUCKETS, FUNCTIONS, JOBS, PROJECTS, json_text, micros
from apillon_mcp.emulator.views import FaultQueue, GatewayCache, RowsView
from apillon_mcp.unixfs import to_cid_v0

DEFAULT_API_KEY = "7f3c9a52-5d1e-4b8a-9c6f-2e4d8b1a0c37"
DEFAULT_API_SECRET = "Emu1@tor#Key"
DEFAULT_PROJECT_UUID = "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85"
DEFAULT_ROLES = frozenset((role, service) for role in Role for service in (Service.COMPUTING, Service.STORAGE))
JOB_PRICE = 100
MAX_CREDITS = 1_000_000_000  # far more than any sandbox spends, far below what JavaScript numbers hold exactly
FIRST_CHAIN_JOB_ID = 1001
MAX_VARIABLES_BYTES = 4096  # AWS KMS Encrypt's plaintext limit
GATEWAY_CACHE_SECONDS = 300
# The backend asks an internal lambda to convert a script CID; when it refuses, axios' own message surfaces.
_CID_REJECTED = "Request failed with status code 400"


class EmulatorState:
    """Everything the emulated Apillon knows, plus the clock that drives its jobs.

    `database` is where the rows live: by default a fresh one in memory; `persistence.open_state` opens a
    sandbox's file. A fresh state holds one project, `DEFAULT_PROJECT_UUID`, with `initial_credits` credits,
    reached with the key `DEFAULT_API_KEY` / `DEFAULT_API_SECRET`, which has every role on COMPUTING and STORAGE.
    Without a `clock`, a `SystemClock` whose offset is kept in the database, shared by every process on the file.

    Read helpers for tests: `functions` (by function uuid), `jobs` (by job uuid), `files` (stored files, by file
    uuid), `buckets`, `projects` and `api_keys` read the current rows, with due transitions applied first; each
    row read is a copy, so a test builds a situation the API cannot reach with `edit_function` and `edit_job`.
    `storage` holds upload sessions and requests. `file_content_by_cid` reads a stored file back, `store_file`
    seeds one. `faults` are the pending injected faults. `requests` logs (method, path with query) of every
    request this process served on the API, the gateway, the S3 upload URLs and `/ipfs/`; control routes are not
    logged. `gateway` says how this process runs scripts (`GatewayConfig`).

    `gateway_cache` is the gateway's function → job resolution: a call with no live entry resolves the job afresh
    and keeps it `GATEWAY_CACHE_SECONDS`; a new match clears the function's entry. So a deleted active job goes on
    serving until the entry made by the last uncached call expires.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        delays: LifecycleDelays | None = None,
        initial_credits: int = 1000,
        gateway: GatewayConfig | None = None,
        database: Database | None = None,
    ):
        self._db = Database.in_memory() if database is None else database
        self.clock: Clock = SystemClock(_StoredOffset(self._db)) if clock is None else clock
        self.delays = LifecycleDelays() if delays is None else delays
        self.initial_credits = initial_credits
        self.gateway = GatewayConfig() if gateway is None else gateway
        self.requests: list[tuple[str, str]] = []
        self.storage = StorageState(self._transaction, self.clock, self.delays)
        self.faults = FaultQueue(self._transaction)
        self.gateway_cache = GatewayCache(self._transaction)
        self.functions: Mapping[str, CloudFunction] = RowsView(FUNCTIONS, self._transaction)
        self.jobs: Mapping[str, Job] = RowsView(JOBS, self._transaction)
        self.buckets: Mapping[str, Bucket] = RowsView(BUCKETS, self._transaction)
        self.projects: Mapping[str, Project] = RowsView(PROJECTS, self._transaction)
        self.api_keys: Mapping[str, ApiKey] = RowsView(API_KEYS, self._transaction)
        with self._db.transaction() as db:
            if db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0:
                db.execute(
                    "INSERT INTO meta (id, clock_offset_us, next_chain_job_id, signing_key) VALUES (1, 0, ?, ?)",
                    (FIRST_CHAIN_JOB_ID, secrets.token_bytes(32)),
                )
                self._add_default_key(db)

    @property
    def path(self) -> Path | None:
        """The sandbox's database file; None in memory."""
        return self._db.path

    @property
    def files(self) -> Mapping[str, File]:
        return self.storage.files

    def close(self) -> None:
        self._db.close()

    def reset(self) -> None:
        """Back to a fresh state: the default key and project only, no functions, files, faults or logged requests.

        The clock (and a stored clock offset), the delays, `initial_credits` and `gateway` are kept.
        """
        with self._db.transaction() as db:
            for table in schema.CLEARED_BY_RESET:
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "UPDATE meta SET next_chain_job_id = ?, signing_key = ?", (FIRST_CHAIN_JOB_ID, secrets.token_bytes(32))
            )
            self._add_default_key(db)
        self.requests.clear()

    def file_content_by_cid(self, cid: str) -> bytes | None:
        """The bytes of a stored file (any fileStatus) whose content has this CID, v0 or v1."""
        return self.storage.content_by_cid(cid)

    def store_file(
        self, bucket_uuid: str, name: str, content: bytes, *, path: str | None = None, content_type: str | None = None
    ) -> File:
        """Seed a file as a finished upload would: fileStatus 2 now, then 3 (CIDs public) and 4 on the clock."""
        return self.storage.store_file(bucket_uuid, name, content, path=path, content_type=content_type)

    def add_api_key(
        self, key: str, secret: str, roles: Iterable[tuple[Role, Service]], project_uuid: str = DEFAULT_PROJECT_UUID
    ) -> None:
        """Grant `key`/`secret` exactly these (role, service) pairs; a new project gets `initial_credits`."""
        with self._transaction() as db:
            self._ensure_project(db, project_uuid)
            API_KEYS.upsert(db, ApiKey(key, secret, project_uuid, frozenset(roles)))

    def set_credit_balance(self, project_uuid: str, balance: int) -> None:
        with self._transaction() as db:
            self._ensure_project(db, project_uuid)
            db.execute("UPDATE projects SET credits = ? WHERE project_uuid = ?", (balance, project_uuid))

    def credit_balance(self, project_uuid: str) -> int:
        with self._transaction() as db:
            return self._credits(db, project_uuid)

    def add_credits(self, project_uuid: str, amount: int) -> int:
        """Top the project up by `amount` credits; the new balance. ValueError for an amount that is not a whole
        number above 0, or that would take the balance past `MAX_CREDITS`."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
            raise ValueError(f"the amount of credits to add must be a whole number above 0, got {amount!r}")
        with self._transaction() as db:
            balance = self._credits(db, project_uuid)
            if amount > MAX_CREDITS - balance:
                raise ValueError(f"the balance would pass {MAX_CREDITS} credits (it is {balance})")
            db.execute("UPDATE projects SET credits = ? WHERE project_uuid = ?", (balance + amount, project_uuid))
            return balance + amount

    def authenticate(self, key: str, secret: str) -> ApiKey:
        with self._transaction() as db:
            api_key = API_KEYS.get(db, key)
        if api_key is None or api_key.secret != secret:
            raise EmulatedError.service(401, 40002400, "Invalid API key or API key secret")
        return api_key

    def create_function(
        self, name: str, description: str | None = None, *, project_uuid: str = DEFAULT_PROJECT_UUID
    ) -> CloudFunction:
        """A new INACTIVE function and its storage bucket `"<name> Bucket"`; no credits are spent."""
        with self._transaction() as db:
            self._ensure_project(db, project_uuid)
            now = self.clock.now()
            bucket = Bucket(str(uuid4()), project_uuid, f"{name} Bucket", now)
            BUCKETS.insert(db, bucket)
            function = CloudFunction(
                id=FUNCTIONS.next_id(db),
                function_uuid=str(uuid4()),
                project_uuid=project_uuid,
                bucket_uuid=bucket.bucket_uuid,
                name=name,
                description=description,
                status=RecordStatus.INACTIVE,
                create_time=now,
                update_time=now,
            )
            FUNCTIONS.insert(db, function)
            return function

    def list_functions(self, query: ListQuery, *, project_uuid: str) -> tuple[list[CloudFunction], int]:
        """(the requested page, the total number of matches) of the project's functions."""
        where = Where().add("project_uuid = ?", project_uuid).search("name_folded", query.search)
        where.record_status(query.status)
        order, page = order_and_page(query, FUNCTION_COLUMNS)
        with self._transaction() as db:
            rows = FUNCTIONS.select(db, f"WHERE {where.sql} {order}", [*where.parameters, *page])
            (total,) = db.execute(f"SELECT count(*) FROM functions WHERE {where.sql}", where.parameters).fetchone()
            return rows, total

    def get_function(self, function_uuid: str, *, project_uuid: str, modify: bool = False) -> CloudFunction:
        """The function, or 404 when unknown or deleted, 403 when it belongs to another project."""
        with self._transaction() as db:
            function = FUNCTIONS.get(db, function_uuid)
        if function is None or function.status == RecordStatus.DELETED:
            raise EmulatedError.service(404, 40418005, "CLOUD_FUNCTION_NOT_FOUND")
        check_access(function.project_uuid, project_uuid, modify)
        return function

    def function_jobs(self, function: CloudFunction, query: ListQuery) -> list[Job]:
        """A page of the function's jobs; deleted ones only with `job_status=9` and `status=9`."""
        where = Where().add("function_uuid = ?", function.function_uuid).search("name_folded", query.search)
        where.record_status(query.status).job_status(query.job_status)
        order, page = order_and_page(query, JOB_COLUMNS)
        with self._transaction() as db:
            return JOBS.select(db, f"WHERE {where.sql} {order}", [*where.parameters, *page])

    def create_job(
        self,
        function_uuid: str,
        name: str,
        script_cid: str,
        slots: int | None = 1,
        *,
        project_uuid: str = DEFAULT_PROJECT_UUID,
    ) -> Job:
        """A DEPLOYING job for the function, paid with `JOB_PRICE` credits; `script_cid` is stored as CIDv0.

        Too few credits is the real service's unhandled error (its credit exception fails to serialise): 500,
        500001, nothing created or charged.
        """
        with self._transaction() as db:
            function = self.get_function(function_uuid, project_uuid=project_uuid)
            try:
                cid_v0 = to_cid_v0(script_cid)
            except ValueError as error:
                raise EmulatedError.unhandled(500, _CID_REJECTED) from error
            if slots is None:
                raise EmulatedError.service_validation([field_error(42218013, "slots", "REQUIRED_DATA_NOT_PRESENT")])
            charged = db.execute(
                "UPDATE projects SET credits = credits - ? WHERE project_uuid = ? AND credits >= ? RETURNING credits",
                (JOB_PRICE, function.project_uuid, JOB_PRICE),
            ).fetchone()
            if charged is None:
                raise EmulatedError.unhandled(500)
            now = self.clock.now()
            deploy_due, match_due = self.delays.schedule(now)
            job = Job(
                id=JOBS.next_id(db),
                job_uuid=str(uuid4()),
                project_uuid=function.project_uuid,
                function_uuid=function.function_uuid,
                name=name,
                script_cid=cid_v0,
                slots=slots,
                job_status=JobStatus.DEPLOYING,
                status=RecordStatus.ACTIVE,
                create_time=now,
                update_time=now,
                deploy_due=deploy_due,
                match_due=match_due,
            )
            JOBS.insert(db, job)
            return job

    def set_environment(
        self, function_uuid: str, variables: Sequence[Mapping[str, object]], *, project_uuid: str
    ) -> CloudFunction:
        """Replace the function's variables, then check its active job (the save stands even if that fails).

        The answer is the function as the service holds it: the new variables, and the `update_time` it was read
        with (the service does not read the row back after writing it).
        """
        stored = [dict(entry) for entry in variables]
        plaintext = json_text(stored).encode()
        with self._transaction() as db:
            function = self.get_function(function_uuid, project_uuid=project_uuid, modify=True)
            if len(plaintext) > MAX_VARIABLES_BYTES:
                raise EmulatedError.unhandled(500)
            db.execute(
                "UPDATE functions SET variables = ?, update_time = ? WHERE function_uuid = ?",
                (plaintext.decode(), micros(self.clock.now()), function_uuid),
            )
            problem = _active_job_problem(db, function)
        if problem is not None:
            raise problem
        return dataclasses.replace(function, variables=stored)

    def delete_job(self, job_uuid: str, *, project_uuid: str) -> Job:
        """Mark the job deleted in any state; the function's `active_job_id` is left pointing at it."""
        with self._transaction() as db:
            job = JOBS.get(db, job_uuid)
            if job is None or job.status == RecordStatus.DELETED:
                # The backend's access helper throws a plain Error on the empty model, hence no 404.
                raise EmulatedError.unhandled(500)
            check_access(job.project_uuid, project_uuid, modify=True)
            deleted = dataclasses.replace(job, job_status=JobStatus.DELETED, status=RecordStatus.DELETED)
            JOBS.update(db, deleted)
            return deleted

    def edit_function(self, function_uuid: str, **changes: Any) -> CloudFunction:
        """For tests: store the function with these fields changed (e.g. `status=RecordStatus.ARCHIVED`)."""
        with self._transaction() as db:
            edited = dataclasses.replace(self.functions[function_uuid], **changes)
            FUNCTIONS.update(db, edited)
            return edited

    def edit_job(self, job_uuid: str, **changes: Any) -> Job:
        """For tests: store the job with these fields changed (e.g. `job_id=None`)."""
        with self._transaction() as db:
            edited = dataclasses.replace(self.jobs[job_uuid], **changes)
            JOBS.update(db, edited)
            return edited

    @contextmanager
    def request_transaction(self) -> Iterator[None]:
        """One API request as one transaction: every operation inside joins it.

        An error answer commits too: the services save some changes before a later check fails (set-environment
        saves the variables, then finds the active job deleted), and an operation that refuses writes nothing.
        """
        answer: EmulatedError | None = None
        with self._transaction():
            try:
                yield
            except EmulatedError as error:
                answer = error
        if answer is not None:
            raise answer

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db.transaction(on_begin=self._settle) as db:
            yield db

    def _settle(self, db: sqlite3.Connection) -> None:
        now = self.clock.now()
        settle_jobs(db, now)
        settle_files(db, now)

    def _ensure_project(self, db: sqlite3.Connection, project_uuid: str) -> None:
        """Projects are created, with `initial_credits`, on first mention."""
        db.execute(
            "INSERT INTO projects (project_uuid, credits) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (project_uuid, self.initial_credits),
        )

    def _credits(self, db: sqlite3.Connection, project_uuid: str) -> int:
        self._ensure_project(db, project_uuid)
        credits: int = db.execute("SELECT credits FROM projects WHERE project_uuid = ?", (project_uuid,)).fetchone()[0]
        return credits

    def _add_default_key(self, db: sqlite3.Connection) -> None:
        self._ensure_project(db, DEFAULT_PROJECT_UUID)
        API_KEYS.upsert(db, ApiKey(DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_PROJECT_UUID, DEFAULT_ROLES))


def _active_job_problem(db: sqlite3.Connection, function: CloudFunction) -> EmulatedError | None:
    """Why the function's active job cannot take new variables, if it cannot."""
    if function.active_job_id is None:
        return None
    active = JOBS.first(db, "id = ?", (function.active_job_id,))
    if active is None or active.status == RecordStatus.DELETED:
        return EmulatedError.service(404, 40418004, "JOB_NOT_FOUND")
    if active.job_status not in (JobStatus.DEPLOYED, JobStatus.MATCHED):
        return EmulatedError.service(500, 50018014, "JOB_NOT_DEPLOYED")
    if active.job_id is None:
        return EmulatedError.service(500, 50018015, "JOB_ID_IS_MISSING")
    return None


class _StoredOffset:
    """The `SystemClock` offset kept in the sandbox's `meta` row, so that every process on it shares one time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def read(self) -> timedelta:
        (stored,) = self._db.read_one("SELECT clock_offset_us FROM meta")
        return timedelta(microseconds=stored)

    def add(self, step: timedelta) -> None:
        with self._db.transaction() as db:
            db.execute("UPDATE meta SET clock_offset_us = clock_offset_us + ?", (step // timedelta(microseconds=1),))
