"""Finding a job without a get-job endpoint, and the job a function's gateway resolves to: right answers, read with
the fewest requests (each one a round trip to Apillon)."""

from collections.abc import AsyncGenerator

import httpx2
import pytest

from apillon_mcp.apillon import ApillonClient, open_client
from apillon_mcp.apillon.lookup import JobLocator, gateway_job
from apillon_mcp.apillon.models import Job
from apillon_mcp.apillon.retry import NO_RETRIES
from apillon_mcp.emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_UUID,
    EmulatorState,
    ManualClock,
    create_emulator,
)
from apillon_mcp.emulator.faults import Fault

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator() -> EmulatorState:
    state = EmulatorState(clock=ManualClock())
    state.set_credit_balance(DEFAULT_PROJECT_UUID, 10**9)
    return state


@pytest.fixture
async def apillon(emulator: EmulatorState) -> AsyncGenerator[ApillonClient, None]:
    transport = httpx2.ASGITransport(app=create_emulator(emulator))
    async with open_client(
        base_url="http://emulator",
        api_key=DEFAULT_API_KEY,
        api_secret=DEFAULT_API_SECRET,
        user_agent="test",
        transport=transport,
        retry=NO_RETRIES,
    ) as client:
        yield client


def reads(emulator: EmulatorState) -> list[tuple[str, str]]:
    """The requests since the last call (method, path without the query), then forgets them."""
    made = [(method, path.split("?")[0]) for method, path in emulator.requests]
    emulator.requests.clear()
    return made


async def test_a_function_no_job_ever_served_resolves_to_nothing_without_another_request(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    emulator.create_job(function.function_uuid, "pending", HELLO_WORLD_CID)
    fetched = await apillon.get_cloud_function(function.function_uuid)
    reads(emulator)

    gateway = await gateway_job(apillon, fetched)

    assert (gateway.active_job_id, gateway.job, gateway.never_matched, gateway.serving) == (None, None, True, False)
    assert reads(emulator) == []


async def test_the_active_job_on_the_page_at_hand_is_taken_from_it(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    fetched = await apillon.get_cloud_function(function.function_uuid)
    reads(emulator)

    gateway = await gateway_job(apillon, fetched)

    assert gateway.job is not None and gateway.job.job_uuid == job.job_uuid
    assert gateway.serving and not gateway.deleted
    assert reads(emulator) == []


async def test_an_active_job_off_the_page_is_found_among_the_matched_ones_behind_many_older_jobs(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    """Jobs are listed oldest first: the serving job comes after 101 older ones, past a page of 100."""
    function = emulator.create_function("fn")
    for n in range(101):
        emulator.create_job(function.function_uuid, f"old-{n}", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    fetched = await apillon.get_cloud_function(function.function_uuid, jobs_limit=1)
    reads(emulator)

    gateway = await gateway_job(apillon, fetched)

    assert gateway.job is not None and gateway.job.job_uuid == job.job_uuid
    assert gateway.serving
    assert len(reads(emulator)) == 1


async def test_a_deleted_active_job_is_told_apart_from_none(apillon: ApillonClient, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.delete_job(job.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)

    gateway = await gateway_job(apillon, await apillon.get_cloud_function(function.function_uuid))

    assert gateway.active_job_id is not None and gateway.job is None
    assert gateway.deleted and not gateway.never_matched and not gateway.serving


def three_functions_with_a_job_each(emulator: EmulatorState) -> list[tuple[str, str]]:
    """(function uuid, job uuid), oldest function first."""
    made = []
    for name in ("oldest", "middle", "newest"):
        function = emulator.create_function(name)
        made.append((function.function_uuid, emulator.create_job(function.function_uuid, name, HELLO_WORLD_CID)))
    return [(function_uuid, job.job_uuid) for function_uuid, job in made]


async def listed_jobs(apillon: ApillonClient, function_uuid: str) -> list[Job]:
    """The function's jobs as Apillon lists them: what the tools hand to `JobLocator.remember`."""
    jobs = (await apillon.get_cloud_function(function_uuid)).jobs
    assert jobs is not None
    return jobs


async def test_the_hints_keep_the_most_recently_seen_jobs(apillon: ApillonClient, emulator: EmulatorState) -> None:
    (oldest, oldest_job), (middle, middle_job), (newest, newest_job) = three_functions_with_a_job_each(emulator)
    jobs = {job.job_uuid: job for uuid in (oldest, middle, newest) for job in await listed_jobs(apillon, uuid)}
    locator = JobLocator(max_hints=2, max_functions_scanned=1)
    locator.remember(oldest, [jobs[oldest_job]])
    locator.remember(middle, [jobs[middle_job]])
    locator.remember(oldest, [jobs[oldest_job]])  # seen again: now the most recent
    locator.remember(newest, [jobs[newest_job]])  # one too many: the least recently seen hint goes

    found = await locator.find(apillon, oldest_job)
    lost = await locator.find(apillon, middle_job)

    assert found is not None and found.function.function_uuid == oldest
    assert lost is None  # only a hint reaches past the newest function, which is all this locator scans


async def test_a_job_is_found_by_scanning_the_newest_functions_page_by_page(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    functions = [emulator.create_function(f"fn-{n}").function_uuid for n in range(250)]
    job = emulator.create_job(functions[120], "deep", HELLO_WORLD_CID)
    reads(emulator)

    located = await JobLocator().find(apillon, job.job_uuid)

    assert located is not None and located.function.function_uuid == functions[120]
    listed = [path for method, path in reads(emulator) if path == "/cloud-functions"]
    assert len(listed) == 3  # page 1 (for the total), then newest first: page 3, page 2 (where it is)


async def test_the_scan_stops_at_its_limit(apillon: ApillonClient, emulator: EmulatorState) -> None:
    functions = [emulator.create_function(f"fn-{n}").function_uuid for n in range(5)]
    old = emulator.create_job(functions[1], "old", HELLO_WORLD_CID)
    recent = emulator.create_job(functions[2], "recent", HELLO_WORLD_CID)
    locator = JobLocator(max_functions_scanned=3)

    assert await locator.find(apillon, old.job_uuid) is None
    assert await locator.find(apillon, recent.job_uuid) is not None


async def test_a_hinted_function_is_not_searched_twice(apillon: ApillonClient, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "gone", HELLO_WORLD_CID)
    locator = JobLocator()
    locator.remember(function.function_uuid, await listed_jobs(apillon, function.function_uuid))
    emulator.delete_job(job.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)
    reads(emulator)

    assert await locator.find(apillon, job.job_uuid) is None
    assert [path for _, path in reads(emulator)] == [f"/cloud-functions/{function.function_uuid}", "/cloud-functions"]


async def test_several_jobs_of_one_function_are_found_with_one_read_of_it(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    three_functions_with_a_job_each(emulator)
    shared = emulator.create_function("shared").function_uuid
    siblings = [emulator.create_job(shared, f"job-{n}", HELLO_WORLD_CID).job_uuid for n in range(4)]
    wanted = siblings[:3]
    reads(emulator)

    found = await JobLocator().find_many(apillon, [*wanted, wanted[0]])

    assert set(found) == set(wanted)
    assert all(located is not None and located.function.function_uuid == shared for located in found.values())
    assert [path for _, path in reads(emulator)] == ["/cloud-functions", f"/cloud-functions/{shared}"]


async def test_jobs_of_several_functions_are_each_found(apillon: ApillonClient, emulator: EmulatorState) -> None:
    (first, first_job), (_, middle_job), (newest, newest_job) = three_functions_with_a_job_each(emulator)
    missing = "7d4b0c1e-2f3a-4b5c-8d6e-9f0a1b2c3d4e"

    found = await JobLocator().find_many(apillon, [first_job, newest_job, missing])

    assert set(found) == {first_job, newest_job, missing}
    assert found[missing] is None
    first_found, newest_found = found[first_job], found[newest_job]
    assert first_found is not None and first_found.function.function_uuid == first
    assert newest_found is not None and newest_found.function.function_uuid == newest
    assert middle_job not in found


async def test_a_job_on_the_first_page_of_many_functions_is_found(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    functions = [emulator.create_function(f"fn-{n}").function_uuid for n in range(150)]
    job = emulator.create_job(functions[50], "early", HELLO_WORLD_CID)

    located = await JobLocator().find(apillon, job.job_uuid)

    assert located is not None and located.function.function_uuid == functions[50]


async def test_a_job_past_the_first_hundred_of_its_function_is_found_on_the_next_page(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    function = emulator.create_function("busy").function_uuid
    jobs = [emulator.create_job(function, f"job-{n}", HELLO_WORLD_CID).job_uuid for n in range(150)]

    located = await JobLocator().find(apillon, jobs[120])

    assert located is not None and located.job.job_uuid == jobs[120]


async def test_a_job_found_by_scanning_leaves_hints_for_its_siblings(
    apillon: ApillonClient, emulator: EmulatorState
) -> None:
    functions = [emulator.create_function(f"fn-{n}").function_uuid for n in range(3)]
    first = emulator.create_job(functions[0], "a", HELLO_WORLD_CID)
    sibling = emulator.create_job(functions[0], "b", HELLO_WORLD_CID)
    locator = JobLocator()
    assert await locator.find(apillon, first.job_uuid) is not None
    reads(emulator)

    assert await locator.find(apillon, sibling.job_uuid) is not None
    assert [path for _, path in reads(emulator)] == [f"/cloud-functions/{functions[0]}"]


@pytest.mark.parametrize("status", [403, 404], ids=["forbidden", "gone"])
async def test_a_function_that_cannot_be_read_is_passed_over_once(
    apillon: ApillonClient, emulator: EmulatorState, status: int
) -> None:
    older, newer = (emulator.create_function(name).function_uuid for name in ("older", "newer"))
    job = emulator.create_job(older, "v1", HELLO_WORLD_CID)
    emulator.faults.append(Fault(path=f"/cloud-functions/{newer}", method="GET", status=status))
    reads(emulator)

    located = await JobLocator().find(apillon, job.job_uuid)

    assert located is not None and located.function.function_uuid == older
    assert reads(emulator) == [
        ("GET", "/cloud-functions"),
        ("GET", f"/cloud-functions/{newer}"),
        ("GET", f"/cloud-functions/{older}"),
    ]
