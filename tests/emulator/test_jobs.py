"""Create and delete jobs (apillon-api.md §5.4, §5.6): validation, CIDs, credits, access."""

import uuid

import httpx2
import pytest

from apillon_mcp.emulator import (
    DEFAULT_PROJECT_UUID,
    EmulatorState,
    JobStatus,
    ManualClock,
    RecordStatus,
)

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
CID_V1 = "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"
CID_V0 = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
RAW_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
SHAPE_C = {"id", "code", "message", "path", "timestamp"}


async def create_job(client: httpx2.AsyncClient, function_uuid: str, **body: object) -> httpx2.Response:
    return await client.post(
        f"/cloud-functions/{function_uuid}/jobs", json={"name": "job", "scriptCid": CID_V0, **body}
    )


async def test_creating_a_job_answers_201_with_a_deploying_job_and_spends_100_credits(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")

    response = await create_job(client, function.function_uuid, name="Price fetcher")

    body = response.json()
    job = body["data"]
    assert response.status_code == 201
    assert body["status"] == 201
    assert job["jobStatus"] == 1
    assert job["jobId"] is None
    assert job["updateTime"] is None
    assert job["createTime"] == "2025-01-01T00:00:00.000Z"
    assert (job["name"], job["slots"], job["scriptCid"]) == ("Price fetcher", 1, CID_V0)
    assert (job["functionUuid"], job["projectUuid"]) == (function.function_uuid, DEFAULT_PROJECT_UUID)
    assert isinstance(job["id"], int)
    assert state.jobs[job["jobUuid"]].status == RecordStatus.ACTIVE
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 900


async def test_the_credit_endpoint_shows_the_balance_after_spending(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    await create_job(client, function.function_uuid)

    response = await client.get("/project/credit")

    assert response.status_code == 200
    assert response.json()["data"] == {"balance": 900}


async def test_a_cid_v1_script_is_stored_and_returned_as_its_cid_v0(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")

    job = (await create_job(client, function.function_uuid, scriptCid=CID_V1)).json()["data"]

    assert job["scriptCid"] == CID_V0
    assert state.jobs[job["jobUuid"]].script_cid == CID_V0


@pytest.mark.parametrize("cid", [RAW_CID, "not-a-cid", "Qm123"])
async def test_a_cid_that_has_no_v0_form_is_a_500_and_costs_nothing(
    state: EmulatorState, client: httpx2.AsyncClient, cid: str
) -> None:
    function = state.create_function("f")

    response = await create_job(client, function.function_uuid, scriptCid=cid)

    body = response.json()
    assert response.status_code == 500
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (500001, "Request failed with status code 400")
    assert state.jobs == {}
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"description": ""},
            [(42200212, "name"), (42200206, "description"), (42200212, "scriptCid")],
        ),
        ({"name": "j", "scriptCid": CID_V0, "slots": 11}, [(42200213, "slots")]),
        ({"name": "j", "scriptCid": CID_V0, "slots": -1}, [(42200213, "slots")]),
        ({"name": "j", "scriptCid": CID_V0, "slots": "12"}, [(42200213, "slots")]),
        ({"name": "n" * 256, "scriptCid": ""}, [(42200205, "name"), (42200212, "scriptCid")]),
    ],
    ids=["missing-fields", "slots-11", "slots-negative", "slots-string", "long-name-empty-cid"],
)
async def test_an_invalid_job_body_is_a_422_create_job_dto_error(
    state: EmulatorState, client: httpx2.AsyncClient, body: dict[str, object], errors: list[tuple[int, str]]
) -> None:
    function = state.create_function("f")

    response = await client.post(f"/cloud-functions/{function.function_uuid}/jobs", json=body)

    answer = response.json()
    assert response.status_code == 422
    assert set(answer) == {"id", "status", "model", "errors", "path", "timestamp"}
    assert answer["model"] == "CreateJobDto"
    assert [(error["code"], error["property"]) for error in answer["errors"]] == errors
    messages = {42200212: "COMPUTING_FIELD_NOT_PRESENT", 42200205: "COMPUTING_NAME_NOT_VALID"}
    messages |= {42200206: "COMPUTING_DESCRIPTION_NOT_VALID", 42200213: "COMPUTING_FIELD_NOT_VALID"}
    assert all(error["message"] == messages[error["code"]] for error in answer["errors"])


async def test_validation_runs_before_the_function_lookup(client: httpx2.AsyncClient) -> None:
    response = await client.post(f"/cloud-functions/{uuid.uuid4()}/jobs", json={})

    assert response.status_code == 422


@pytest.mark.parametrize(("slots", "stored"), [(2.7, 2), ("3", 3), ("abc", 0), (True, 1), (0, 0), (10, 10)], ids=repr)
async def test_slots_are_parsed_as_a_lenient_integer_from_0_to_10(
    state: EmulatorState, client: httpx2.AsyncClient, slots: object, stored: int
) -> None:
    function = state.create_function("f")

    response = await create_job(client, function.function_uuid, slots=slots)

    assert response.status_code == 201
    assert response.json()["data"]["slots"] == stored


async def test_explicit_null_slots_pass_the_dto_but_fail_the_service_model_check(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")

    response = await create_job(client, function.function_uuid, slots=None)

    body = response.json()
    assert response.status_code == 422
    assert set(body) == {"id", "code", "status", "errors", "path", "timestamp"}
    assert (body["code"], body["status"]) == (500004, 422)
    assert body["errors"] == [{"code": 42218013, "property": "slots", "message": "REQUIRED_DATA_NOT_PRESENT"}]
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 1000


async def test_a_job_for_an_unknown_function_is_a_404(client: httpx2.AsyncClient) -> None:
    response = await create_job(client, str(uuid.uuid4()))

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40418005, "CLOUD_FUNCTION_NOT_FOUND")


async def test_a_job_for_another_projects_function_is_a_403_access_error(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("theirs", project_uuid=OTHER_PROJECT)

    response = await create_job(client, function.function_uuid)

    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient permissions to access this record"
    assert state.credit_balance(OTHER_PROJECT) == 1000


async def test_an_archived_function_still_accepts_jobs(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("old")
    state.edit_function(function.function_uuid, status=RecordStatus.ARCHIVED)

    response = await create_job(client, function.function_uuid)

    assert response.status_code == 201


async def test_without_100_credits_a_job_is_the_services_unhandled_500_and_nothing_is_created_or_charged(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.set_credit_balance(DEFAULT_PROJECT_UUID, 150)

    first = await create_job(client, function.function_uuid)
    second = await create_job(client, function.function_uuid)

    body = second.json()
    assert first.status_code == 201
    assert second.status_code == 500
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (500001, "Error calling internal service!")
    assert len(state.jobs) == 1
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 50


async def test_a_job_can_be_deleted_while_still_deploying_and_keeps_its_update_time(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", CID_V0)
    clock.advance(5)

    response = await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == 200
    assert body["data"]["jobStatus"] == 9
    assert body["data"]["jobId"] is None
    assert body["data"]["updateTime"] == "2025-01-01T00:00:00.000Z"
    assert (state.jobs[job.job_uuid].job_status, state.jobs[job.job_uuid].status) == (
        JobStatus.DELETED,
        RecordStatus.DELETED,
    )
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 900


async def test_a_deleted_job_never_deploys(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", CID_V0)
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    clock.advance(3600)

    assert state.jobs[job.job_uuid].job_status == JobStatus.DELETED
    assert state.jobs[job.job_uuid].job_id is None


async def test_deleting_the_active_job_leaves_the_function_pointing_at_it(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", CID_V0)
    clock.advance(30)

    response = await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    fetched = (await client.get(f"/cloud-functions/{function.function_uuid}")).json()["data"]
    assert response.json()["data"]["jobId"] is not None
    assert fetched["activeJobId"] == job.id
    assert fetched["jobs"] == []
    assert state.functions[function.function_uuid].status == RecordStatus.ACTIVE


async def test_deleting_an_unknown_or_already_deleted_job_is_a_500_internal_service_error(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", CID_V0)
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    for job_uuid in [str(uuid.uuid4()), job.job_uuid]:
        response = await client.delete(f"/cloud-functions/jobs/{job_uuid}")
        body = response.json()
        assert response.status_code == 500
        assert set(body) == SHAPE_C
        assert (body["code"], body["message"]) == (500001, "Error calling internal service!")


async def test_deleting_another_projects_job_is_a_403_modify_error(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("theirs", project_uuid=OTHER_PROJECT)
    job = state.create_job(function.function_uuid, "job", CID_V0, project_uuid=OTHER_PROJECT)

    response = await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    body = response.json()
    assert response.status_code == 403
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40300000, "Insufficient permissions to modify this record")
    assert state.jobs[job.job_uuid].job_status == JobStatus.DEPLOYING
