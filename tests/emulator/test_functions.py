"""Create, list and get cloud functions (apillon-api.md §3.1, §4, §5.1-5.3)."""

import uuid

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, RecordStatus, Role, Service

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
OTHER_KEY, OTHER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"
ITEM_KEYS = {
    "createTime",
    "updateTime",
    "functionUuid",
    "projectUuid",
    "bucketUuid",
    "name",
    "description",
    "activeJobId",
}
JOB_KEYS = {
    "id",
    "createTime",
    "updateTime",
    "jobUuid",
    "projectUuid",
    "functionUuid",
    "name",
    "scriptCid",
    "slots",
    "jobId",
    "jobStatus",
}


async def test_creating_a_function_answers_201_with_the_full_object_and_no_jobs(client: httpx2.AsyncClient) -> None:
    response = await client.post("/cloud-functions", json={"name": "Price feed", "description": "Fetches prices"})

    body = response.json()
    data = body["data"]
    assert response.status_code == 201
    assert set(body) == {"id", "status", "data"}
    assert uuid.UUID(body["id"]).version == 4
    assert body["status"] == 201
    assert set(data) == ITEM_KEYS | {"gatewayUrl", "jobs"}
    assert data["createTime"] == "2025-01-01T00:00:00.000Z"
    assert data["updateTime"] is None
    assert data["projectUuid"] == DEFAULT_PROJECT_UUID
    assert (data["name"], data["description"]) == ("Price feed", "Fetches prices")
    assert data["activeJobId"] is None
    assert data["jobs"] is None
    assert data["gatewayUrl"] == f"http://emulator/gateway/{data['functionUuid']}"


async def test_creating_a_function_stores_it_inactive_with_its_own_bucket(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    data = (await client.post("/cloud-functions", json={"name": "Price feed"})).json()["data"]

    function = state.functions[data["functionUuid"]]
    bucket = state.buckets[data["bucketUuid"]]
    assert function.status == RecordStatus.INACTIVE
    assert function.description is None
    assert (bucket.name, bucket.project_uuid) == ("Price feed Bucket", DEFAULT_PROJECT_UUID)


async def test_a_function_read_back_carries_the_database_update_time(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    created = (await client.post("/cloud-functions", json={"name": "f"})).json()["data"]

    fetched = (await client.get(f"/cloud-functions/{created['functionUuid']}")).json()["data"]

    assert fetched["updateTime"] == fetched["createTime"] == "2025-01-01T00:00:00.000Z"


async def test_the_project_uuid_comes_from_the_key_not_the_body(client: httpx2.AsyncClient) -> None:
    response = await client.post("/cloud-functions", json={"name": "f", "project_uuid": OTHER_PROJECT, "x": 1})

    assert response.json()["data"]["projectUuid"] == DEFAULT_PROJECT_UUID


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [(42200212, "name", "COMPUTING_FIELD_NOT_PRESENT")]),
        ({"name": None}, [(42200212, "name", "COMPUTING_FIELD_NOT_PRESENT")]),
        ({"name": ""}, [(42200212, "name", "COMPUTING_FIELD_NOT_PRESENT")]),
        ({"name": "x" * 256}, [(42200205, "name", "COMPUTING_NAME_NOT_VALID")]),
        ({"name": "\N{GRINNING FACE}" * 128}, [(42200205, "name", "COMPUTING_NAME_NOT_VALID")]),
        ({"name": "x", "description": ""}, [(42200206, "description", "COMPUTING_DESCRIPTION_NOT_VALID")]),
        (
            {"name": "", "description": "d" * 256},
            [
                (42200212, "name", "COMPUTING_FIELD_NOT_PRESENT"),
                (42200206, "description", "COMPUTING_DESCRIPTION_NOT_VALID"),
            ],
        ),
    ],
    ids=["missing", "null", "empty", "too-long", "too-long-utf16", "empty-description", "both"],
)
async def test_an_invalid_function_body_is_a_422_naming_the_dto_and_each_failing_field(
    state: EmulatorState, client: httpx2.AsyncClient, body: dict[str, object], errors: list[tuple[int, str, str]]
) -> None:
    response = await client.post("/cloud-functions", json=body)

    answer = response.json()
    assert response.status_code == 422
    assert set(answer) == {"id", "status", "model", "errors", "path", "timestamp"}
    assert (answer["status"], answer["model"], answer["path"]) == (422, "CreateCloudFunctionDto", "/cloud-functions")
    assert [(e["code"], e["property"], e["message"]) for e in answer["errors"]] == errors
    assert state.functions == {}


async def test_names_up_to_255_characters_and_non_string_names_are_accepted(client: httpx2.AsyncClient) -> None:
    long = await client.post("/cloud-functions", json={"name": "x" * 255, "description": None})
    number = await client.post("/cloud-functions", json={"name": 5})

    assert long.status_code == 201
    assert long.json()["data"]["description"] is None
    assert number.json()["data"]["name"] == "5"


async def test_a_body_that_is_not_json_is_a_400_unhandled_error(client: httpx2.AsyncClient) -> None:
    response = await client.post("/cloud-functions", content=b'{"name": ', headers={"content-type": "application/json"})

    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"id", "code", "message", "path", "timestamp"}
    assert body["code"] == 500001


async def test_the_list_holds_the_projects_functions_without_gateway_url_or_jobs(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    mine = state.create_function("mine")
    state.create_function("theirs", project_uuid=OTHER_PROJECT)

    response = await client.get("/cloud-functions")

    data = response.json()["data"]
    assert response.status_code == 200
    assert response.json()["status"] == 200
    assert set(data) == {"items", "total", "page", "limit"}
    assert (data["total"], data["page"], data["limit"]) == (1, 1, 20)
    assert [item["functionUuid"] for item in data["items"]] == [mine.function_uuid]
    assert set(data["items"][0]) == ITEM_KEYS


async def test_the_list_pages_twenty_at_a_time_by_default_and_counts_every_match(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    for index in range(25):
        state.create_function(f"f{index:02}")

    first = (await client.get("/cloud-functions")).json()["data"]
    third = (await client.get("/cloud-functions?page=3&limit=10")).json()["data"]

    assert len(first["items"]) == 20
    assert first["total"] == 25
    assert [item["name"] for item in third["items"]] == [f"f{index:02}" for index in range(20, 25)]
    assert (third["page"], third["limit"], third["total"]) == (3, 10, 25)


@pytest.mark.parametrize(
    ("query", "page", "limit", "first"),
    [
        ("page=-3", 1, 20, "f0"),
        ("page=0&limit=2", 0, 2, "f0"),
        ("page=abc&limit=2", 0, 2, "f0"),
        ("page=2.9&limit=2", 2, 2, "f2"),
        ("limit=0", 1, 20, "f0"),
        ("limit=-5", 1, 20, "f0"),
        ("limit=abc", 1, 20, "f0"),
        ("limit=1000", 1, 1000, "f0"),
    ],
)
async def test_page_and_limit_follow_the_backend_parsing_quirks(
    state: EmulatorState, client: httpx2.AsyncClient, query: str, page: int, limit: int, first: str
) -> None:
    for index in range(5):
        state.create_function(f"f{index}")

    data = (await client.get(f"/cloud-functions?{query}")).json()["data"]

    assert (data["page"], data["limit"]) == (page, limit)
    assert data["items"][0]["name"] == first


async def test_search_is_a_case_insensitive_like_with_its_wildcards(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    for name in ["Price feed", "price-oracle", "Weather", "p_x"]:
        state.create_function(name)

    plain = (await client.get("/cloud-functions?search=PRICE")).json()["data"]
    wildcard = (await client.get("/cloud-functions?search=e_o")).json()["data"]

    assert [item["name"] for item in plain["items"]] == ["Price feed", "price-oracle"]
    assert plain["total"] == 2
    assert [item["name"] for item in wildcard["items"]] == ["price-oracle"]


async def test_archived_and_deleted_functions_are_listed_only_when_asked_for_by_status(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    _, archived, deleted = (state.create_function(name) for name in ["live", "archived", "deleted"])
    state.edit_function(archived.function_uuid, status=RecordStatus.ARCHIVED)
    state.edit_function(deleted.function_uuid, status=RecordStatus.DELETED)

    default = (await client.get("/cloud-functions")).json()["data"]
    only_archived = (await client.get("/cloud-functions?status=8")).json()["data"]
    only_inactive = (await client.get("/cloud-functions?status=3")).json()["data"]

    assert [item["name"] for item in default["items"]] == ["live"]
    assert [item["name"] for item in only_archived["items"]] == ["archived"]
    assert [item["name"] for item in only_inactive["items"]] == ["live"]


async def test_order_by_takes_database_column_names_with_desc_flags(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    for name in ["b", "c", "a"]:
        state.create_function(name, description=None if name == "c" else name.upper())

    by_name = (await client.get("/cloud-functions?orderBy=name&desc=true")).json()["data"]
    by_description = (await client.get("/cloud-functions?orderBy=description")).json()["data"]

    assert [item["name"] for item in by_name["items"]] == ["c", "b", "a"]
    assert [item["name"] for item in by_description["items"]] == ["c", "a", "b"]


@pytest.mark.parametrize("column", ["functionUuid", "name,description"])
async def test_ordering_by_an_unknown_column_is_a_500(
    state: EmulatorState, client: httpx2.AsyncClient, column: str
) -> None:
    state.create_function("f")

    response = await client.get(f"/cloud-functions?orderBy={column}")

    body = response.json()
    assert response.status_code == 500
    assert set(body) == {"id", "code", "message", "path", "timestamp"}
    assert body["code"] == 500001


async def test_getting_a_function_returns_it_with_its_jobs(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("f", "desc")
    job = state.create_job(function.function_uuid, "job", HELLO_WORLD_CID, slots=3)

    response = await client.get(f"/cloud-functions/{function.function_uuid}")

    data = response.json()["data"]
    assert response.status_code == 200
    assert set(data) == ITEM_KEYS | {"gatewayUrl", "jobs"}
    assert data["gatewayUrl"] == f"http://emulator/gateway/{function.function_uuid}"
    assert len(data["jobs"]) == 1
    assert set(data["jobs"][0]) == JOB_KEYS
    assert data["jobs"][0]["jobUuid"] == job.job_uuid
    assert data["jobs"][0]["slots"] == 3


async def test_getting_an_unknown_or_deleted_function_is_a_404_without_status(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    deleted = state.create_function("gone")
    state.edit_function(deleted.function_uuid, status=RecordStatus.DELETED)

    for function_uuid in [str(uuid.uuid4()), deleted.function_uuid]:
        response = await client.get(f"/cloud-functions/{function_uuid}")
        body = response.json()
        assert response.status_code == 404
        assert set(body) == {"id", "code", "message", "path", "timestamp"}
        assert (body["code"], body["message"]) == (40418005, "CLOUD_FUNCTION_NOT_FOUND")


async def test_an_archived_function_can_still_be_fetched(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    function = state.create_function("old")
    state.edit_function(function.function_uuid, status=RecordStatus.ARCHIVED)

    response = await client.get(f"/cloud-functions/{function.function_uuid}")

    assert response.status_code == 200


async def test_getting_another_projects_function_is_a_403_access_error(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("theirs", project_uuid=OTHER_PROJECT)

    response = await client.get(f"/cloud-functions/{function.function_uuid}")

    body = response.json()
    assert response.status_code == 403
    assert set(body) == {"id", "code", "message", "path", "timestamp"}
    assert (body["code"], body["message"]) == (40300000, "Insufficient permissions to access this record")


async def test_a_key_of_another_project_sees_only_its_own_functions(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    state.create_function("mine")
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.COMPUTING)], project_uuid=OTHER_PROJECT)
    theirs = state.create_function("theirs", project_uuid=OTHER_PROJECT)

    data = (await client.get("/cloud-functions", auth=(OTHER_KEY, OTHER_SECRET))).json()["data"]

    assert [item["functionUuid"] for item in data["items"]] == [theirs.function_uuid]


async def test_the_embedded_jobs_are_paged_twenty_at_a_time_without_a_total(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    state.set_credit_balance(DEFAULT_PROJECT_UUID, 10_000)
    function = state.create_function("f")
    for index in range(25):
        state.create_job(function.function_uuid, f"job {index:02}", HELLO_WORLD_CID)
    path = f"/cloud-functions/{function.function_uuid}"

    default = (await client.get(path)).json()["data"]
    second = (await client.get(f"{path}?page=2&limit=5")).json()["data"]
    searched = (await client.get(f"{path}?search=job 1")).json()["data"]

    assert len(default["jobs"]) == 20
    assert "total" not in default
    assert [job["name"] for job in second["jobs"]] == [f"job {index:02}" for index in range(5, 10)]
    assert len(searched["jobs"]) == 10


async def test_deleted_jobs_are_hidden_unless_both_job_status_and_status_are_9(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    kept = state.create_job(function.function_uuid, "kept", HELLO_WORLD_CID)
    deleted = state.create_job(function.function_uuid, "deleted", HELLO_WORLD_CID)
    state.delete_job(deleted.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)
    path = f"/cloud-functions/{function.function_uuid}"

    default = (await client.get(path)).json()["data"]["jobs"]
    job_status_only = (await client.get(f"{path}?jobStatus=9")).json()["data"]["jobs"]
    both = (await client.get(f"{path}?jobStatus=9&status=9")).json()["data"]["jobs"]
    deploying = (await client.get(f"{path}?jobStatus=1")).json()["data"]["jobs"]

    assert [job["jobUuid"] for job in default] == [kept.job_uuid]
    assert job_status_only == []
    assert [(job["jobUuid"], job["jobStatus"]) for job in both] == [(deleted.job_uuid, 9)]
    assert [job["jobUuid"] for job in deploying] == [kept.job_uuid]


async def test_the_embedded_jobs_can_be_ordered_by_job_columns(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    for name, slots in [("a", 2), ("b", 5), ("c", 1)]:
        state.create_job(function.function_uuid, name, HELLO_WORLD_CID, slots=slots)
    path = f"/cloud-functions/{function.function_uuid}"

    by_slots = (await client.get(f"{path}?orderBy=slots&desc=true")).json()["data"]["jobs"]
    by_name = (await client.get(f"{path}?orderBy=jobStatus&orderBy=name&desc=false&desc=true")).json()["data"]["jobs"]

    assert [job["name"] for job in by_slots] == ["b", "a", "c"]
    assert [job["name"] for job in by_name] == ["c", "b", "a"]


@pytest.mark.parametrize("column", ["description", "startTime", "STARTTIME", "jobUuid"])
async def test_jobs_ordered_by_a_dropped_or_unknown_column_are_a_500(
    state: EmulatorState, client: httpx2.AsyncClient, column: str
) -> None:
    function = state.create_function("f")
    state.create_job(function.function_uuid, "a", HELLO_WORLD_CID)

    response = await client.get(f"/cloud-functions/{function.function_uuid}?orderBy={column}")

    assert response.status_code == 500
    assert (response.json()["code"], response.json()["message"]) == (500001, "Error calling internal service!")


async def test_column_names_in_order_by_are_case_insensitive(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    for name, description in [("b", "Y"), ("a", "z"), ("c", "x")]:
        state.create_function(name, description)

    by_name = (await client.get("/cloud-functions?orderBy=NAME")).json()["data"]
    by_description = (await client.get("/cloud-functions?orderBy=Description&desc=true")).json()["data"]

    assert [item["name"] for item in by_name["items"]] == ["a", "b", "c"]
    assert [item["name"] for item in by_description["items"]] == ["a", "b", "c"]
