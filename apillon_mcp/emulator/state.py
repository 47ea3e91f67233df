"""The emulator's in-memory Apillon: projects, API keys, cloud functions, jobs, credits, storage (no HTTP here)."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from apillon_mcp.emulator.auth import check_access
from apillon_mcp.emulator.clock import Clock, SystemClock
from apillon_mcp.emulator.errors import EmulatedError, field_error
from apillon_mcp.emulator.faults import Fault
from apillon_mcp.emulator.gateway_config import GatewayConfig
from apillon_mcp.emulator.lifecycle import LifecycleDelays, settle
from apillon_mcp.emulator.listing import FUNCTION_COLUMNS, JOB_COLUMNS, ListQuery, name_like, sort_and_page
from apillon_mcp.emulator.records import (
    ApiKey,
    Bucket,
    CachedJob,
    CloudFunction,
    File,
    FileUpload,
    Job,
    JobStatus,
    Project,
    RecordStatus,
    Role,
    Service,
    UploadSession,
)
from apillon_mcp.emulator.storage import StorageState
from apillon_mcp.unixfs import to_cid_v0

DEFAULT_API_KEY = "7f3c9a52-5d1e-4b8a-9c6f-2e4d8b1a0c37"
DEFAULT_API_SECRET = "Emu1@tor#Key"
DEFAULT_PROJECT_UUID = "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85"
DEFAULT_ROLES = frozenset((role, service) for role in Role for service in (Service.COMPUTING, Service.STORAGE))
JOB_PRICE = 100
FIRST_CHAIN_JOB_ID = 1001
MAX_VARIABLES_BYTES = 4096  # AWS KMS Encrypt's plaintext limit
GATEWAY_CACHE_SECONDS = 300
_HIDDEN_BY_DEFAULT = (RecordStatus.ARCHIVED, RecordStatus.DELETED)
_CREDIT_TOO_LOW = json.dumps(
    {"status": 402, "code": 40210000, "errorMessage": "CREDIT_BALANCE_TOO_LOW"}, separators=(",", ":")
)
# The backend asks an internal lambda to convert a script CID; when it refuses, axios' own message surfaces.
_CID_REJECTED = "Request failed with status code 400"


@dataclass
class StateRows:
    """Everything a state holds that outlives a restart, as its rows in creation order (`persistence` saves it).

    Left out: the caller's configuration (clock, delays, `initial_credits`, `gateway`), the request log and the
    gateway cache.
    """

    projects: list[Project]
    api_keys: list[ApiKey]
    buckets: list[Bucket]
    functions: list[CloudFunction]
    jobs: list[Job]
    sessions: list[UploadSession]
    uploads: list[FileUpload]
    files: list[File]
    faults: list[Fault]
    next_chain_job_id: int
    signing_key: bytes


class EmulatorState:
    """Everything the emulated Apillon knows, plus the clock that drives its jobs.

    A fresh state holds one project, `DEFAULT_PROJECT_UUID`, with `initial_credits` credits, reached with the key
    `DEFAULT_API_KEY` / `DEFAULT_API_SECRET`, which has every role on COMPUTING and STORAGE.

    Read helpers for tests: `functions` (by function uuid), `jobs` (by job uuid) and `files` (stored files, by
    file uuid) hold the stored rows, with pending transitions applied first; `buckets`, `projects` and `api_keys`
    likewise, and `storage` holds upload sessions and requests. `file_content_by_cid` reads a stored file back,
    `store_file` seeds one. Rows are plain dataclasses, so a test may also edit one to build a situation the API
    cannot reach. `requests` logs (method, path with query) of every request to the API, the gateway, the S3
    upload URLs and `/ipfs/`; control routes are not logged. `gateway` says how scripts run (`GatewayConfig`).

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
    ):
        self.clock: Clock = SystemClock() if clock is None else clock
        self.delays = LifecycleDelays() if delays is None else delays
        self.initial_credits = initial_credits
        self.gateway = GatewayConfig() if gateway is None else gateway
        self.reset()

    def reset(self) -> None:
        """Back to a fresh state: the default key and project only, no functions, files, faults or logged requests.

        The clock, the delays, `initial_credits` and `gateway` are kept.
        """
        self.projects: dict[str, Project] = {}
        self.api_keys: dict[str, ApiKey] = {}
        self.buckets: dict[str, Bucket] = {}
        self.storage = StorageState(self.clock, self.delays, self.buckets)
        self.gateway_cache: dict[str, CachedJob] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self._functions: dict[str, CloudFunction] = {}
        self._jobs: dict[str, Job] = {}
        self._next_chain_job_id = FIRST_CHAIN_JOB_ID
        self.add_api_key(DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_ROLES)

    @property
    def functions(self) -> Mapping[str, CloudFunction]:
        self._settle()
        return self._functions

    @property
    def jobs(self) -> Mapping[str, Job]:
        self._settle()
        return self._jobs

    @property
    def files(self) -> Mapping[str, File]:
        return self.storage.files

    def file_content_by_cid(self, cid: str) -> bytes | None:
        """The bytes of a stored file (any fileStatus) whose content has this CID, v0 or v1."""
        return self.storage.content_by_cid(cid)

    def store_file(
        self, bucket_uuid: str, name: str, content: bytes, *, path: str | None = None, content_type: str | None = None
    ) -> File:
        """Seed a file as a finished upload would: fileStatus 2 now, then 3 (CIDs public) and 4 on the clock."""
        return self.storage.store_file(bucket_uuid, name, content, path=path, content_type=content_type)

    def rows(self) -> StateRows:
        """The stored rows themselves (not copies), with pending transitions applied first."""
        self._settle()
        return StateRows(
            projects=list(self.projects.values()),
            api_keys=list(self.api_keys.values()),
            buckets=list(self.buckets.values()),
            functions=list(self._functions.values()),
            jobs=list(self._jobs.values()),
            sessions=list(self.storage.sessions.values()),
            uploads=list(self.storage.uploads.values()),
            files=list(self.storage.files.values()),
            faults=list(self.faults),
            next_chain_job_id=self._next_chain_job_id,
            signing_key=self.storage.signing_key,
        )

    def restore(self, rows: StateRows) -> None:
        """Replace everything `rows()` covers with `rows`; the gateway cache starts empty, the request log is kept."""
        self.projects = {project.project_uuid: project for project in rows.projects}
        self.api_keys = {api_key.key: api_key for api_key in rows.api_keys}
        self.buckets = {bucket.bucket_uuid: bucket for bucket in rows.buckets}
        self.storage = StorageState(self.clock, self.delays, self.buckets)
        self.storage.restore(rows.sessions, rows.uploads, rows.files, rows.signing_key)
        self.gateway_cache = {}
        self.faults = list(rows.faults)
        self._functions = {function.function_uuid: function for function in rows.functions}
        self._jobs = {job.job_uuid: job for job in rows.jobs}
        self._next_chain_job_id = rows.next_chain_job_id

    def add_api_key(
        self, key: str, secret: str, roles: Iterable[tuple[Role, Service]], project_uuid: str = DEFAULT_PROJECT_UUID
    ) -> None:
        """Grant `key`/`secret` exactly these (role, service) pairs; a new project gets `initial_credits`."""
        self._project(project_uuid)
        self.api_keys[key] = ApiKey(key, secret, project_uuid, frozenset(roles))

    def set_credit_balance(self, project_uuid: str, balance: int) -> None:
        self._project(project_uuid).credits = balance

    def credit_balance(self, project_uuid: str) -> int:
        return self._project(project_uuid).credits

    def authenticate(self, key: str, secret: str) -> ApiKey:
        api_key = self.api_keys.get(key)
        if api_key is None or api_key.secret != secret:
            raise EmulatedError.service(401, 40002400, "Invalid API key or API key secret")
        return api_key

    def create_function(
        self, name: str, description: str | None = None, *, project_uuid: str = DEFAULT_PROJECT_UUID
    ) -> CloudFunction:
        """A new INACTIVE function and its storage bucket `"<name> Bucket"`; no credits are spent."""
        self._settle()
        self._project(project_uuid)
        now = self.clock.now()
        bucket = Bucket(str(uuid4()), project_uuid, f"{name} Bucket", now)
        self.buckets[bucket.bucket_uuid] = bucket
        function = CloudFunction(
            id=len(self._functions) + 1,
            function_uuid=str(uuid4()),
            project_uuid=project_uuid,
            bucket_uuid=bucket.bucket_uuid,
            name=name,
            description=description,
            status=RecordStatus.INACTIVE,
            create_time=now,
            update_time=now,
        )
        self._functions[function.function_uuid] = function
        return function

    def list_functions(self, query: ListQuery, *, project_uuid: str) -> tuple[list[CloudFunction], int]:
        """(the requested page, the total number of matches) of the project's functions."""
        self._settle()
        rows = [
            function
            for function in self._functions.values()
            if function.project_uuid == project_uuid
            and name_like(function.name, query.search)
            and _status_matches(function.status, query.status)
        ]
        return sort_and_page(rows, query, FUNCTION_COLUMNS), len(rows)

    def get_function(self, function_uuid: str, *, project_uuid: str, modify: bool = False) -> CloudFunction:
        """The function, or 404 when unknown or deleted, 403 when it belongs to another project."""
        self._settle()
        function = self._functions.get(function_uuid)
        if function is None or function.status == RecordStatus.DELETED:
            raise EmulatedError.service(404, 40418005, "CLOUD_FUNCTION_NOT_FOUND")
        check_access(function.project_uuid, project_uuid, modify)
        return function

    def function_jobs(self, function: CloudFunction, query: ListQuery) -> list[Job]:
        """A page of the function's jobs; deleted ones only with `job_status=9` and `status=9`."""
        self._settle()
        rows = [
            job
            for job in self._jobs.values()
            if job.function_uuid == function.function_uuid
            and name_like(job.name, query.search)
            and _status_matches(job.status, query.status)
            and _job_status_matches(job.job_status, query.job_status)
        ]
        return sort_and_page(rows, query, JOB_COLUMNS)

    def create_job(
        self,
        function_uuid: str,
        name: str,
        script_cid: str,
        slots: int | None = 1,
        *,
        project_uuid: str = DEFAULT_PROJECT_UUID,
    ) -> Job:
        """A DEPLOYING job for the function, paid with `JOB_PRICE` credits; `script_cid` is stored as CIDv0."""
        function = self.get_function(function_uuid, project_uuid=project_uuid)
        try:
            cid_v0 = to_cid_v0(script_cid)
        except ValueError as error:
            raise EmulatedError.unhandled(500, _CID_REJECTED) from error
        if slots is None:
            raise EmulatedError.service_validation([field_error(42218013, "slots", "REQUIRED_DATA_NOT_PRESENT")])
        project = self._project(function.project_uuid)
        if project.credits < JOB_PRICE:
            raise EmulatedError.service(500, 50018013, f"Error creating acurast job: {_CREDIT_TOO_LOW}")
        project.credits -= JOB_PRICE
        now = self.clock.now()
        deploy_due, match_due = self.delays.schedule(now)
        job = Job(
            id=len(self._jobs) + 1,
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
        self._jobs[job.job_uuid] = job
        return job

    def set_environment(
        self, function_uuid: str, variables: Sequence[Mapping[str, object]], *, project_uuid: str
    ) -> CloudFunction:
        """Replace the function's variables, then check its active job (the save stands even if that fails)."""
        function = self.get_function(function_uuid, project_uuid=project_uuid, modify=True)
        plaintext = json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode()
        if len(plaintext) > MAX_VARIABLES_BYTES:
            raise EmulatedError.unhandled(500)
        function.variables, function.update_time = [dict(entry) for entry in variables], self.clock.now()
        if function.active_job_id is not None:
            active = next((job for job in self._jobs.values() if job.id == function.active_job_id), None)
            if active is None or active.status == RecordStatus.DELETED:
                raise EmulatedError.service(404, 40418004, "JOB_NOT_FOUND")
            if active.job_status not in (JobStatus.DEPLOYED, JobStatus.MATCHED):
                raise EmulatedError.service(500, 50018014, "JOB_NOT_DEPLOYED")
            if active.job_id is None:
                raise EmulatedError.service(500, 50018015, "JOB_ID_IS_MISSING")
        return function

    def delete_job(self, job_uuid: str, *, project_uuid: str) -> Job:
        """Mark the job deleted in any state; the function's `active_job_id` is left pointing at it."""
        self._settle()
        job = self._jobs.get(job_uuid)
        if job is None or job.status == RecordStatus.DELETED:
            # The backend's access helper throws a plain Error on the empty model, hence no 404.
            raise EmulatedError.unhandled(500)
        check_access(job.project_uuid, project_uuid, modify=True)
        job.job_status, job.status = JobStatus.DELETED, RecordStatus.DELETED
        return job

    def _project(self, project_uuid: str) -> Project:
        """The project, created with `initial_credits` on first mention."""
        return self.projects.setdefault(project_uuid, Project(project_uuid, self.initial_credits))

    def _settle(self) -> None:
        settle(self._functions, self._jobs.values(), self.clock.now(), self._take_chain_job_id, self._new_match)

    def _new_match(self, job: Job, at: datetime) -> None:
        self.gateway_cache.pop(job.function_uuid, None)

    def _take_chain_job_id(self) -> int:
        self._next_chain_job_id += 1
        return self._next_chain_job_id - 1


def _status_matches(status: RecordStatus, wanted: int | None) -> bool:
    return status not in _HIDDEN_BY_DEFAULT if wanted is None else status == wanted


def _job_status_matches(job_status: JobStatus, wanted: int | None) -> bool:
    return job_status != JobStatus.DELETED if wanted is None else job_status == wanted
