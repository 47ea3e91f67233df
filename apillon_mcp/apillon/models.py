"""Wire shapes of the Apillon Cloud Functions API (apillon-api §7), with camelCase aliases."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
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


class CreditBalance(WireModel):
    balance: int
