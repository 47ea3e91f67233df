"""Set environment variables (apillon-api.md §5.5, §9)."""

import json
import uuid

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, JobStatus, ManualClock

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
SHAPE_C = {"id", "code", "message", "path", "timestamp"}
VARIABLES = [{"key": "API_KEY", "value": "12345"}, {"key": "MODE", "value": "0"}]


def environment(function_uuid: str) -> str:
    return f"/cloud-functions/{function_uuid}/environment"


async def test_setting_variables_answers_201_with_the_function_as_read_before_the_write_and_never_the_variables(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    clock.advance(60)

    response = await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    body = response.json()
    data = body["data"]
    assert response.status_code == 201
    assert body["status"] == 201
    assert data["functionUuid"] == function.function_uuid
    assert data["jobs"] is None
    assert data["gatewayUrl"] == f"http://emulator/gateway/{function.function_uuid}"
    assert data["updateTime"] == "2025-01-01T00:00:00.000Z"  # the service answers with the model it had loaded
    assert "12345" not in response.text
    assert "variables" not in data
    stored = state.functions[function.function_uuid]
    assert (stored.variables, stored.update_time) == (VARIABLES, clock.now())


async def test_variables_may_be_sent_as_a_json_string(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("f")

    response = await client.post(environment(function.function_uuid), json={"variables": json.dumps(VARIABLES)})

    assert response.status_code == 201
    assert state.functions[function.function_uuid].variables == VARIABLES


async def test_a_new_set_of_variables_replaces_the_old_one_entirely(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    await client.post(environment(function.function_uuid), json={"variables": [{"key": "ONLY", "value": "this"}]})

    assert state.functions[function.function_uuid].variables == [{"key": "ONLY", "value": "this"}]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"variables": []},
        {"variables": {"key": "A", "value": "1"}},
        {"variables": "not json"},
        {"variables": [{"key": "", "value": "1"}]},
        {"variables": [{"key": "A", "value": 0}]},
        {"variables": [{"key": "A", "value": ""}]},
        {"variables": [{"key": "A"}]},
        {"variables": [{"key": "A", "value": "1"}, "B=2"]},
    ],
    ids=["missing", "empty", "object", "bad-json", "empty-key", "zero", "empty-value", "no-value", "not-an-object"],
)
async def test_invalid_variables_are_a_422_wrapped_in_code_500004_and_nothing_is_stored(
    state: EmulatorState, client: httpx2.AsyncClient, body: dict[str, object]
) -> None:
    function = state.create_function("f")

    response = await client.post(environment(function.function_uuid), json=body)

    answer = response.json()
    assert response.status_code == 422
    assert set(answer) == {"id", "code", "status", "errors", "path", "timestamp"}
    assert (answer["code"], answer["status"]) == (500004, 422)
    assert answer["errors"] == [{"code": 42218016, "property": "variables", "message": "FIELD_INVALID"}]
    assert answer["path"] == environment(function.function_uuid)
    assert state.functions[function.function_uuid].variables is None


async def test_variables_are_validated_before_the_function_is_looked_up(client: httpx2.AsyncClient) -> None:
    response = await client.post(environment(str(uuid.uuid4())), json={"variables": []})

    assert response.status_code == 422


async def test_setting_variables_on_an_unknown_function_is_a_404(client: httpx2.AsyncClient) -> None:
    response = await client.post(environment(str(uuid.uuid4())), json={"variables": VARIABLES})

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40418005, "CLOUD_FUNCTION_NOT_FOUND")


async def test_setting_variables_on_another_projects_function_is_a_403_modify_error(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("theirs", project_uuid=OTHER_PROJECT)

    response = await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient permissions to modify this record"
    assert state.functions[function.function_uuid].variables is None


async def test_variables_whose_json_exceeds_4_kib_are_a_500_and_are_not_stored(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    filler = len(json.dumps([{"key": "K", "value": ""}], separators=(",", ":")))
    at_limit = [{"key": "K", "value": "v" * (4096 - filler)}]
    over_limit = [{"key": "K", "value": "v" * (4097 - filler)}]

    accepted = await client.post(environment(function.function_uuid), json={"variables": at_limit})
    refused = await client.post(environment(function.function_uuid), json={"variables": over_limit})

    body = refused.json()
    assert accepted.status_code == 201
    assert refused.status_code == 500
    assert set(body) == SHAPE_C
    assert body["code"] == 500001
    assert state.functions[function.function_uuid].variables == at_limit


async def test_with_a_matched_active_job_the_variables_are_set(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)
    clock.advance(30)

    response = await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    assert response.status_code == 201
    assert state.credit_balance(DEFAULT_PROJECT_UUID) == 900


async def test_after_deleting_the_active_job_the_variables_are_saved_but_the_answer_is_a_404_job_not_found(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)
    clock.advance(30)
    await client.delete(f"/cloud-functions/jobs/{job.job_uuid}")

    response = await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40418004, "JOB_NOT_FOUND")
    assert state.functions[function.function_uuid].variables == VARIABLES


@pytest.mark.parametrize(
    ("job_status", "job_id", "code", "message"),
    [
        (JobStatus.DEPLOYING, 1001, 50018014, "JOB_NOT_DEPLOYED"),
        (JobStatus.INACTIVE, 1001, 50018014, "JOB_NOT_DEPLOYED"),
        (JobStatus.DEPLOYED, None, 50018015, "JOB_ID_IS_MISSING"),
        (JobStatus.MATCHED, None, 50018015, "JOB_ID_IS_MISSING"),
    ],
)
async def test_an_active_job_that_cannot_take_variables_is_a_500_after_saving_them(
    state: EmulatorState,
    clock: ManualClock,
    client: httpx2.AsyncClient,
    job_status: JobStatus,
    job_id: int | None,
    code: int,
    message: str,
) -> None:
    function = state.create_function("f")
    job = state.create_job(function.function_uuid, "job", HELLO_WORLD_CID)
    clock.advance(30)
    state.edit_job(job.job_uuid, job_status=job_status, job_id=job_id)

    response = await client.post(environment(function.function_uuid), json={"variables": VARIABLES})

    body = response.json()
    assert response.status_code == 500
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (code, message)
    assert state.functions[function.function_uuid].variables == VARIABLES
