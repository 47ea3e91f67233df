"""Questions the API has no endpoint for, answered from the endpoints it has.

There is no get-job endpoint: jobs only come embedded, paged, in GET /cloud-functions/:uuid. A job is
found by remembering which function each job seen so far belongs to, then by scanning the project's
newest functions. The function's `activeJobId` is a numeric id, resolved against its live jobs.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from apillon_mcp.apillon.client import ApillonClient
from apillon_mcp.apillon.errors import ApillonForbidden, ApillonNotFound
from apillon_mcp.apillon.models import CloudFunction, Job, JobStatus

# Functions list page size used when scanning; the API has no maximum, 100 keeps answers small.
_SCAN_PAGE = 100
# How many live jobs one GET asks for when searching a function; a function rarely has more.
_JOBS_PAGE = 100


@dataclass(frozen=True)
class GatewayJob:
    """Which job the function's gateway resolves to (apillon-api §10)."""

    active_job_id: int | None
    job: Job | None
    """The active job, when it is still live; None when there is none yet or it was deleted."""

    @property
    def never_matched(self) -> bool:
        return self.active_job_id is None

    @property
    def deleted(self) -> bool:
        return self.active_job_id is not None and self.job is None

    @property
    def serving(self) -> bool:
        return self.job is not None and self.job.job_status is JobStatus.MATCHED


async def gateway_job(client: ApillonClient, function: CloudFunction) -> GatewayJob:
    """Resolve `activeJobId`, fetching the function's MATCHED jobs when the active one is not on the page at hand."""
    active_id = function.active_job_id
    if active_id is None:
        return GatewayJob(active_job_id=None, job=None)
    for job in function.jobs or ():
        if job.id == active_id:
            return GatewayJob(active_job_id=active_id, job=job)
    # The active job is MATCHED while it lives; once deleted it is hidden from every live listing.
    matched = await client.get_cloud_function(
        function.function_uuid, jobs_limit=_JOBS_PAGE, job_status=JobStatus.MATCHED
    )
    live = next((j for j in matched.jobs or () if j.id == active_id), None)
    return GatewayJob(active_job_id=active_id, job=live)


@dataclass(frozen=True)
class LocatedJob:
    function: CloudFunction
    job: Job


class JobLocator:
    """Finds the function a job uuid belongs to. The remembered hints are only hints: every answer is re-read live."""

    def __init__(self, *, max_hints: int = 2000, max_functions_scanned: int = 200) -> None:
        self._hints: OrderedDict[str, str] = OrderedDict()
        self._max_hints = max_hints
        self.max_functions_scanned = max_functions_scanned

    def remember(self, function_uuid: str, jobs: list[Job] | None) -> None:
        for job in jobs or ():
            self._hints[job.job_uuid] = function_uuid
            self._hints.move_to_end(job.job_uuid)
        while len(self._hints) > self._max_hints:
            self._hints.popitem(last=False)

    async def find(self, client: ApillonClient, job_uuid: str) -> LocatedJob | None:
        """The live job and its function, or None when no function scanned holds it."""
        hinted = self._hints.get(job_uuid)
        if hinted is not None:
            found = await self._search_function(client, hinted, job_uuid)
            if found is not None:
                return found
        for function_uuid in await self._newest_function_uuids(client):
            if function_uuid == hinted:
                continue
            found = await self._search_function(client, function_uuid, job_uuid)
            if found is not None:
                return found
        return None

    async def find_many(self, client: ApillonClient, job_uuids: list[str]) -> dict[str, LocatedJob | None]:
        """`find` for each uuid, reading each function once: the jobs found beside one are taken from its page."""
        found: dict[str, LocatedJob | None] = {}
        for job_uuid in job_uuids:
            if job_uuid in found:
                continue
            located = await self.find(client, job_uuid)
            found[job_uuid] = located
            if located is None:
                continue
            for job in located.function.jobs or ():
                if job.job_uuid in job_uuids and job.job_uuid not in found:
                    found[job.job_uuid] = LocatedJob(function=located.function, job=job)
        return found

    async def _newest_function_uuids(self, client: ApillonClient) -> list[str]:
        # Listing order is creation order, oldest first; recent jobs usually belong to recent functions.
        first = await client.list_cloud_functions(page=1, limit=_SCAN_PAGE)
        last_page = max(1, -(-first.total // _SCAN_PAGE))
        uuids: list[str] = []
        for page in range(last_page, 0, -1):
            listing = first if page == 1 else await client.list_cloud_functions(page=page, limit=_SCAN_PAGE)
            uuids.extend(f.function_uuid for f in reversed(listing.items))
            if len(uuids) >= self.max_functions_scanned:
                break
        return uuids[: self.max_functions_scanned]

    async def _search_function(self, client: ApillonClient, function_uuid: str, job_uuid: str) -> LocatedJob | None:
        page = 1
        while True:
            try:
                function = await client.get_cloud_function(function_uuid, jobs_page=page, jobs_limit=_JOBS_PAGE)
            except (ApillonNotFound, ApillonForbidden):
                return None
            jobs = function.jobs or []
            self.remember(function_uuid, jobs)
            for job in jobs:
                if job.job_uuid == job_uuid:
                    return LocatedJob(function=function, job=job)
            if len(jobs) < _JOBS_PAGE:
                return None
            page += 1
