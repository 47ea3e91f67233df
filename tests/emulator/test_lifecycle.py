"""The job lifecycle on the emulator clock (apillon-api.md §8, §15, §16)."""

from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from apillon_mcp.emulator import (
    EmulatorState,
    JobStatus,
    LifecycleDelays,
    ManualClock,
    RecordStatus,
    SystemClock,
    create_emulator,
)

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio


async def jobs_by_name(client: httpx2.AsyncClient, function_uuid: str) -> dict[str, dict[str, object]]:
    data = (await client.get(f"/cloud-functions/{function_uuid}")).json()["data"]
    return {job["name"]: job for job in data["jobs"]}


async def test_a_job_is_deployed_with_an_on_chain_id_after_the_deploy_delay(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)

    clock.advance(9.999)
    before = (await jobs_by_name(client, function.function_uuid))["job"]
    clock.advance(0.001)
    after = (await jobs_by_name(client, function.function_uuid))["job"]

    assert (before["jobStatus"], before["jobId"]) == (1, None)
    assert (after["jobStatus"], after["jobId"]) == (2, 1001)
    assert after["updateTime"] == "2025-01-01T00:00:10.000Z"


async def test_a_deployed_job_is_matched_after_the_match_delay_and_becomes_the_active_job(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)

    clock.advance(29)
    waiting = (await client.get(f"/cloud-functions/{function.function_uuid}")).json()["data"]
    clock.advance(1)
    matched = (await client.get(f"/cloud-functions/{function.function_uuid}")).json()["data"]

    assert waiting["activeJobId"] is None
    assert waiting["jobs"][0]["jobStatus"] == 2
    assert matched["activeJobId"] == job.id
    assert matched["jobs"][0]["jobStatus"] == 3
    assert matched["updateTime"] == matched["jobs"][0]["updateTime"] == "2025-01-01T00:00:30.000Z"
    assert state.functions[function.function_uuid].status == RecordStatus.ACTIVE


async def test_transitions_far_in_the_past_are_stamped_with_their_own_due_times(
    state: EmulatorState, clock: ManualClock
) -> None:
    function = state.create_function("f")
    first = state.create_job(function.function_uuid, "first", HELLO_WORLD_CID)
    clock.advance(25)
    second = state.create_job(function.function_uuid, "second", HELLO_WORLD_CID)

    clock.advance(3600)

    jobs = state.jobs
    second_matched = datetime(2025, 1, 1, 0, 0, 55, tzinfo=UTC)
    assert (jobs[first.job_uuid].job_id, jobs[second.job_uuid].job_id) == (1001, 1002)
    assert (jobs[first.job_uuid].job_status, jobs[first.job_uuid].update_time) == (JobStatus.INACTIVE, second_matched)
    assert (jobs[second.job_uuid].job_status, jobs[second.job_uuid].update_time) == (JobStatus.MATCHED, second_matched)
    assert state.functions[function.function_uuid].active_job_id == second.id


async def test_when_a_newer_job_matches_the_older_matched_job_becomes_inactive(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "old", HELLO_WORLD_CID)
    clock.advance(60)
    new = state.create_job(function.function_uuid, "new", HELLO_WORLD_CID)

    clock.advance(29)
    old_still_serving = await jobs_by_name(client, function.function_uuid)
    clock.advance(1)
    replaced = await jobs_by_name(client, function.function_uuid)

    assert old_still_serving["old"]["jobStatus"] == 3
    assert (replaced["old"]["jobStatus"], replaced["new"]["jobStatus"]) == (4, 3)
    assert state.functions[function.function_uuid].active_job_id == new.id


async def test_a_newer_job_still_deploying_when_another_matches_comes_back_and_matches_later(
    state: EmulatorState, clock: ManualClock
) -> None:
    function = state.create_function("f")
    first = state.create_job(function.function_uuid, "first", HELLO_WORLD_CID)
    clock.advance(25)
    second = state.create_job(function.function_uuid, "second", HELLO_WORLD_CID)

    clock.advance(5)
    assert state.jobs[second.job_uuid].job_status == JobStatus.INACTIVE
    clock.advance(5)
    assert state.jobs[second.job_uuid].job_status == JobStatus.DEPLOYED
    clock.advance(20)

    assert state.jobs[second.job_uuid].job_status == JobStatus.MATCHED
    assert state.jobs[first.job_uuid].job_status == JobStatus.INACTIVE
    assert state.functions[function.function_uuid].active_job_id == second.id


async def test_a_newer_job_already_deployed_when_another_matches_stays_inactive_forever(
    state: EmulatorState, clock: ManualClock
) -> None:
    function = state.create_function("f")
    first = state.create_job(function.function_uuid, "first", HELLO_WORLD_CID)
    clock.advance(15)
    second = state.create_job(function.function_uuid, "second", HELLO_WORLD_CID)

    clock.advance(86_400)

    assert state.jobs[second.job_uuid].job_status == JobStatus.INACTIVE
    assert state.jobs[second.job_uuid].job_id == 1002
    assert state.jobs[first.job_uuid].job_status == JobStatus.MATCHED
    assert state.functions[function.function_uuid].active_job_id == first.id


async def test_a_deleted_job_is_not_marked_inactive_when_another_matches(
    state: EmulatorState, clock: ManualClock
) -> None:
    function = state.create_function("f")
    deleted = state.create_job(function.function_uuid, "deleted", HELLO_WORLD_CID)
    state.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    state.delete_job(deleted.job_uuid, project_uuid=deleted.project_uuid)

    clock.advance(30)

    assert state.jobs[deleted.job_uuid].job_status == JobStatus.DELETED


async def test_the_lifecycle_delays_are_configurable(clock: ManualClock) -> None:
    state = EmulatorState(clock=clock, delays=LifecycleDelays(deploy_seconds=1, match_seconds=2))
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)

    clock.advance(1)
    deployed = state.jobs[job.job_uuid].job_status
    clock.advance(2)

    assert deployed == JobStatus.DEPLOYED
    assert state.jobs[job.job_uuid].job_status == JobStatus.MATCHED


async def test_a_job_matches_30_seconds_after_creation_by_default() -> None:
    delays = LifecycleDelays()
    created = datetime(2025, 1, 1, tzinfo=UTC)

    assert delays.schedule(created) == (created + timedelta(seconds=10), created + timedelta(seconds=30))


async def test_the_clock_control_route_drives_the_lifecycle(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)

    response = await client.post("/_emulator/clock", json={"advance_seconds": 30})

    assert response.json() == {"now": "2025-01-01T00:00:30.000Z"}
    assert (await jobs_by_name(client, function.function_uuid))["job"]["jobStatus"] == 3


def test_a_manual_clock_moves_only_when_advanced_and_never_backwards() -> None:
    clock = ManualClock(datetime(2030, 5, 1, 12, tzinfo=UTC))

    clock.advance(1.5)

    assert clock.now() == datetime(2030, 5, 1, 12, 0, 1, 500_000, tzinfo=UTC)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2030, 1, 1))


def test_a_system_clock_runs_ahead_of_real_time_by_what_it_was_advanced() -> None:
    clock = SystemClock()
    real_before = datetime.now(UTC)

    clock.advance(3600)

    assert clock.now() >= real_before + timedelta(seconds=3600)
    assert clock.now().tzinfo is not None


def test_a_state_without_a_clock_runs_on_the_system_clock() -> None:
    state = EmulatorState()

    assert isinstance(state.clock, SystemClock)
    assert create_emulator(state) is not None
