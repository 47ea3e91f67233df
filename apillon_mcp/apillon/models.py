"""Wire shapes of the Apillon API (apillon-api §7, §12), with camelCase aliases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class JobStatus(IntEnum):
    DEPLOYING = 1
    DEPLOYED = 2
    MATCHED = 3
    INACTIVE = 4
    DELETED = 9


class Job(WireModel):
    id: int
    job_uuid: str
    function_uuid: str
    project_uuid: str | None = None
    name: str
    script_cid: str
    slots: int
    job_id: int | None = None
    """The on-chain Acurast job id, set once the deploy transaction confirms."""
    job_status: JobStatus
    create_time: datetime | None = None
    update_time: datetime | None = None


class CloudFunction(WireModel):
    function_uuid: str
    project_uuid: str | None = None
    bucket_uuid: str | None = None
    name: str
    description: str | None = None
    active_job_id: int | None = None
    """Numeric `id` of the job the gateway serves; null until a job first reaches MATCHED."""
    gateway_url: str | None = None
    """Present on create, get and set-environment answers; absent from list items."""
    jobs: list[Job] | None = None
    """One page of the function's live jobs on get; null elsewhere."""
    create_time: datetime | None = None
    update_time: datetime | None = None


class Page(WireModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    limit: int


class ProjectCredit(WireModel):
    """The answer of GET /project/credit."""

    balance: int


class FileStatus(IntEnum):
    REQUEST_FOR_UPLOAD_GENERATED = 1
    UPLOADED_TO_S3 = 2
    UPLOADED_TO_IPFS = 3
    PINNED_TO_CRUST = 4
    PINNING_TO_CRUST = 5


class UploadTarget(WireModel):
    """Where to PUT one file of an upload session: a presigned URL that takes no Apillon auth."""

    file_uuid: str
    file_name: str
    content_type: str | None = None
    path: str | None = None
    url: str


class UploadSession(WireModel):
    session_uuid: str
    files: list[UploadTarget]


class StoredFile(WireModel):
    file_uuid: str
    name: str
    cid: str | None = Field(default=None, alias="CID")
    cid_v1: str | None = Field(default=None, alias="CIDv1")
    content_type: str | None = None
    path: str | None = None
    size: int | None = None
    file_status: FileStatus
    link: str | None = None


@dataclass(frozen=True)
class GatewayReply:
    """What a function's gateway answered: not an Apillon envelope, the script's raw reply or `{"message"}`."""

    status: int
    text: str
    truncated: bool
    """The body was longer than the client reads; `text` holds its start."""
    elapsed_ms: float
