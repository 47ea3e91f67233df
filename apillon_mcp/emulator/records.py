"""The emulator's stored rows: plain dataclasses with the backend's snake_case fields, no behaviour."""

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


class Role(IntEnum):
    """API-key roles (`DefaultApiKeyRole`); each is granted per service, none implies another."""

    EXECUTE = 50
    WRITE = 51
    READ = 52


class Service(IntEnum):
    """Service types a role is granted on (`AttachedServiceType`)."""

    STORAGE = 2
    HOSTING = 4
    COMPUTING = 5


class RecordStatus(IntEnum):
    """The hidden row status (`SqlModelStatus`); list endpoints filter on it with `?status=`."""

    DRAFT = 1
    INCOMPLETE = 2
    INACTIVE = 3
    ACTIVE = 5
    BLOCKED = 7
    ARCHIVED = 8
    DELETED = 9


class JobStatus(IntEnum):
    """The public `jobStatus` of a job."""

    DEPLOYING = 1
    DEPLOYED = 2
    MATCHED = 3
    INACTIVE = 4
    DELETED = 9


@dataclass
class Project:
    project_uuid: str
    credits: int


@dataclass
class ApiKey:
    key: str
    secret: str
    project_uuid: str
    roles: frozenset[tuple[Role, Service]]


@dataclass
class Bucket:
    """The storage bucket `"<name> Bucket"` created with each cloud function."""

    bucket_uuid: str
    project_uuid: str
    name: str
    create_time: datetime


@dataclass
class CloudFunction:
    """A cloud function row.

    `status` is the record status (3 INACTIVE until a job first matches, then 5 ACTIVE; 8 archived, 9 deleted).
    `active_job_id` is the numeric `Job.id` the gateway serves. `variables` is the last environment list stored by
    set-environment, exactly as submitted (the real service keeps it KMS-encrypted and never returns it).
    """

    id: int
    function_uuid: str
    project_uuid: str
    bucket_uuid: str
    name: str
    description: str | None
    status: RecordStatus
    create_time: datetime
    update_time: datetime | None
    active_job_id: int | None = None
    variables: list[dict[str, object]] | None = None


@dataclass
class Job:
    """A job row.

    `job_status` is the public lifecycle status; `status` is the record status (5 while alive, 9 once deleted).
    `job_id` is the on-chain Acurast id, set when the deploy is confirmed. `deploy_due` / `match_due` are when
    the emulated chain confirms the deploy and matches a processor; `deploy_done` / `match_done` record that the
    transition has been applied.
    """

    id: int
    job_uuid: str
    project_uuid: str
    function_uuid: str
    name: str
    script_cid: str
    slots: int
    job_status: JobStatus
    status: RecordStatus
    create_time: datetime
    update_time: datetime | None
    deploy_due: datetime
    match_due: datetime
    job_id: int | None = None
    deploy_done: bool = False
    match_done: bool = False


class SessionStatus(IntEnum):
    """An upload session's `sessionStatus`: open for more files until it is ended."""

    CREATED = 1
    IN_PROGRESS = 2


class FileStatus(IntEnum):
    """The public `fileStatus` of a stored file."""

    REQUEST_FOR_UPLOAD_GENERATED = 1
    UPLOADED_TO_S3 = 2
    UPLOADED_TO_IPFS = 3
    PINNED_TO_CRUST = 4


@dataclass
class UploadSession:
    session_uuid: str
    bucket_uuid: str
    project_uuid: str
    status: SessionStatus
    create_time: datetime


@dataclass
class FileUpload:
    """A file upload request: one name in one session, and the bytes PUT to its signed URL (None until then).

    `path` is normalised (no leading '/', one trailing '/'); `s3_key` is `<path><name>`, unique in the session.
    """

    file_uuid: str
    session_uuid: str
    bucket_uuid: str
    project_uuid: str
    path: str | None
    name: str
    content_type: str | None
    create_time: datetime
    update_time: datetime
    content: bytes | None = None

    @property
    def s3_key(self) -> str:
        return f"{self.path or ''}{self.name}"


@dataclass
class File:
    """A stored file row, created when its session ends, with the upload request's `file_uuid`.

    `cid_v0` / `cid_v1` are computed from `content` at once but published (`CID`, `CIDv1`, `link`) only from
    UPLOADED_TO_IPFS on; `ipfs_due` / `pin_due` are when the emulated workers move it to statuses 3 and 4.
    """

    id: int
    file_uuid: str
    bucket_uuid: str
    project_uuid: str
    session_uuid: str
    path: str | None
    name: str
    content_type: str | None
    content: bytes
    cid_v0: str
    cid_v1: str
    file_status: FileStatus
    status: RecordStatus
    create_time: datetime
    update_time: datetime
    ipfs_due: datetime
    pin_due: datetime

    @property
    def published(self) -> bool:
        """On IPFS: the CIDs are public and the bytes can be fetched by CID."""
        return self.file_status >= FileStatus.UPLOADED_TO_IPFS


@dataclass
class CachedJob:
    """The gateway's cached resolution of a function to the job it serves, until `expires`."""

    job: Job
    expires: datetime


@dataclass(frozen=True)
class UploadItem:
    """One file an upload request names: where it goes and what it is."""

    name: str
    content_type: str | None
    path: str | None  # normalised: no leading '/', one trailing '/'


@dataclass(frozen=True)
class UploadRequest:
    """The files an upload session is asked for, in the session the client chose (or a new one)."""

    files: list[UploadItem]
    session_uuid: str | None
