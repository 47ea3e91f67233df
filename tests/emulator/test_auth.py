"""Authentication (apillon-api.md §2.1) and the role guard (§2.2)."""

import base64
import re
import uuid

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, Role, Service

pytestmark = pytest.mark.anyio

SHAPE_A = {"id", "status", "code", "message", "path", "timestamp"}
SHAPE_C = {"id", "code", "message", "path", "timestamp"}
OTHER_KEY, OTHER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


async def test_a_request_without_an_authorization_header_is_a_400_missing_header_error(
    anonymous: httpx2.AsyncClient,
) -> None:
    response = await anonymous.get("/cloud-functions?page=2")

    body = response.json()
    assert response.status_code == 400
    assert set(body) == SHAPE_A
    assert body["status"] == 400
    assert body["code"] == 40000003
    assert body["message"] == "Missing Authorization header"
    assert body["path"] == "/cloud-functions?page=2"
    assert body["timestamp"] == "2025-01-01T00:00:00.000Z"


@pytest.mark.parametrize("header", ["Bearer abc", "basic " + base64.b64encode(b"k:s").decode(), "Basic"])
async def test_a_header_without_the_exact_text_basic_space_is_a_missing_header_error(
    anonymous: httpx2.AsyncClient, header: str
) -> None:
    response = await anonymous.get("/cloud-functions", headers={"Authorization": header})

    assert response.status_code == 400
    assert response.json()["code"] == 40000003


async def test_basic_may_appear_anywhere_in_the_header(anonymous: httpx2.AsyncClient) -> None:
    token = base64.b64encode(f"{DEFAULT_API_KEY}:{DEFAULT_API_SECRET}".encode()).decode()

    response = await anonymous.get("/project/credit", headers={"Authorization": f"XBasic {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("credentials", ["no-colon-at-all", "key-only:", ":secret-only", ""])
async def test_credentials_without_both_a_key_and_a_secret_are_a_400_malformed_header_error(
    anonymous: httpx2.AsyncClient, credentials: str
) -> None:
    response = await anonymous.get("/cloud-functions", headers=basic(credentials))

    body = response.json()
    assert response.status_code == 400
    assert set(body) == SHAPE_A
    assert (body["status"], body["code"], body["message"]) == (400, 40000004, "Malformed Authorization header")


async def test_only_the_text_up_to_a_second_colon_is_used_as_the_secret(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [])

    response = await anonymous.get("/project/credit", headers=basic(f"{OTHER_KEY}:{OTHER_SECRET}:ignored"))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "credentials", [f"{OTHER_KEY}:{DEFAULT_API_SECRET}", f"{DEFAULT_API_KEY}:wrong-secret"], ids=["key", "secret"]
)
async def test_an_unknown_key_or_a_wrong_secret_is_a_401_without_a_status_field(
    anonymous: httpx2.AsyncClient, credentials: str
) -> None:
    response = await anonymous.get("/cloud-functions", headers=basic(credentials))

    body = response.json()
    assert response.status_code == 401
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40002400, "Invalid API key or API key secret")


async def test_an_unknown_route_with_valid_credentials_is_a_404_cannot_method_path(client: httpx2.AsyncClient) -> None:
    response = await client.get("/storage/nothing-here?x=1")

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert body["code"] == 500001
    assert body["message"] == "Cannot GET /storage/nothing-here?x=1"
    assert body["path"] == "/storage/nothing-here?x=1"


async def test_an_unknown_route_without_credentials_is_the_auth_400(anonymous: httpx2.AsyncClient) -> None:
    response = await anonymous.delete("/cloud-functions")

    assert response.status_code == 400
    assert response.json()["code"] == 40000003


async def test_a_known_path_with_an_unrouted_method_is_a_404(client: httpx2.AsyncClient) -> None:
    response = await client.put("/cloud-functions")

    assert response.status_code == 404
    assert response.json()["message"] == "Cannot PUT /cloud-functions"


async def test_routes_match_case_insensitively_and_with_a_trailing_slash(client: httpx2.AsyncClient) -> None:
    response = await client.get("/Cloud-Functions/")

    assert response.status_code == 200
    assert response.json()["data"]["total"] == 0


FUNCTION = "11111111-2222-4333-8444-555555555555"
ENDPOINTS = [
    ("POST", "/cloud-functions", {"name": "x"}, "KEY_WRITE"),
    ("GET", "/cloud-functions", None, "KEY_READ"),
    ("GET", f"/cloud-functions/{FUNCTION}", None, "KEY_READ"),
    ("POST", f"/cloud-functions/{FUNCTION}/jobs", {"name": "j", "scriptCid": "Qm"}, "KEY_WRITE"),
    ("POST", f"/cloud-functions/{FUNCTION}/environment", {"variables": [{"key": "A", "value": "1"}]}, "KEY_EXECUTE"),
    ("DELETE", f"/cloud-functions/jobs/{FUNCTION}", None, "KEY_WRITE"),
]


@pytest.mark.parametrize(("method", "path", "body", "role"), ENDPOINTS)
async def test_a_key_without_the_endpoint_role_gets_a_403_naming_that_role(
    state: EmulatorState,
    anonymous: httpx2.AsyncClient,
    method: str,
    path: str,
    body: dict[str, object] | None,
    role: str,
) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [])

    response = await anonymous.request(method, path, json=body, auth=(OTHER_KEY, OTHER_SECRET))

    answer = response.json()
    assert response.status_code == 403
    assert set(answer) == SHAPE_A
    assert answer["status"] == 403
    assert answer["code"] == 40300000
    assert answer["message"] == f"Insufficient permissions - missing {role} permission"


async def test_write_does_not_imply_read(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.WRITE, Service.COMPUTING), (Role.EXECUTE, Service.COMPUTING)])

    created = await anonymous.post("/cloud-functions", json={"name": "x"}, auth=(OTHER_KEY, OTHER_SECRET))
    listed = await anonymous.get("/cloud-functions", auth=(OTHER_KEY, OTHER_SECRET))

    assert created.status_code == 201
    assert listed.status_code == 403
    assert listed.json()["message"] == "Insufficient permissions - missing KEY_READ permission"


async def test_a_role_on_another_service_does_not_count(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.STORAGE), (Role.READ, Service.HOSTING)])

    response = await anonymous.get("/cloud-functions", auth=(OTHER_KEY, OTHER_SECRET))

    assert response.status_code == 403


async def test_setting_the_environment_needs_execute_not_write(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    function = state.create_function("f")
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.WRITE, Service.COMPUTING), (Role.READ, Service.COMPUTING)])
    path = f"/cloud-functions/{function.function_uuid}/environment"

    response = await anonymous.post(
        path, json={"variables": [{"key": "A", "value": "1"}]}, auth=(OTHER_KEY, OTHER_SECRET)
    )

    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient permissions - missing KEY_EXECUTE permission"


async def test_the_role_guard_runs_before_body_validation(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.COMPUTING)])

    response = await anonymous.post("/cloud-functions", json={"name": ""}, auth=(OTHER_KEY, OTHER_SECRET))

    assert response.status_code == 403


async def test_the_credit_balance_needs_only_a_valid_key(state: EmulatorState, anonymous: httpx2.AsyncClient) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [], project_uuid="c0ffee00-1234-4abc-8def-0123456789ab")

    response = await anonymous.get("/project/credit", auth=(OTHER_KEY, OTHER_SECRET))

    assert response.status_code == 200
    assert response.json()["data"] == {"balance": 1000}


def test_the_default_key_is_a_uuid_v4_with_a_twelve_character_secret() -> None:
    assert uuid.UUID(DEFAULT_API_KEY).version == 4
    assert re.fullmatch(r"[A-Za-z0-9!@#$%]{12}", DEFAULT_API_SECRET)
