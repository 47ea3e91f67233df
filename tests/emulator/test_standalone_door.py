"""The standalone emulator is no door into the machine: Host allow-list, no other origins, a control token."""

import base64
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_PROJECT_UUID, open_state
from apillon_mcp.emulator.clock import LATEST
from apillon_mcp.emulator.host_guard import host_name
from apillon_mcp.emulator.standalone import Access, ServeError, Standalone, prepare

from support import HELLO_WORLD_CID

pytestmark = pytest.mark.anyio

CREDENTIALS = (DEFAULT_API_KEY, DEFAULT_API_SECRET)
JSON = {"content-type": "application/json"}


@asynccontextmanager
async def served(
    path: Path, access: Access | None = None, *, host: str = "127.0.0.1"
) -> AsyncGenerator[tuple[Standalone, httpx2.AsyncClient], None]:
    """A standalone emulator saving to `path`, and HTTP to its app at its base URL (no socket traffic)."""
    standalone = prepare(host, 0, path, False, access)
    try:
        transport = httpx2.ASGITransport(app=standalone.app)
        async with httpx2.AsyncClient(transport=transport, base_url=standalone.base_url) as http:
            yield standalone, http
    finally:
        standalone.socket.close()


def control(standalone: Standalone) -> dict[str, str]:
    return {**JSON, "authorization": f"Bearer {standalone.control_token}"}


def credentials_for(target: str, standalone: Standalone) -> dict[str, str]:
    """What a legitimate client would send: the control token to a control route, Basic auth to the rest."""
    if target.startswith("/_emulator/"):
        return control(standalone)
    basic = base64.b64encode(f"{DEFAULT_API_KEY}:{DEFAULT_API_SECRET}".encode()).decode()
    return {**JSON, "authorization": f"Basic {basic}"}


def observable(standalone: Standalone, path: Path) -> tuple[object, ...]:
    """What a request could change: the state, and the sandbox's files (`path` names the database beside it; the
    -shm file is SQLite's index of the -wal file, which every reader touches)."""
    state = standalone.state
    assert state.path is not None and state.path.parent == path.parent
    return (
        sorted(state.api_keys),
        sorted(state.functions),
        len(state.faults),
        state.credit_balance(DEFAULT_PROJECT_UUID),
        state.requests[:],
        [file.read_bytes() for file in sorted(path.parent.iterdir()) if not file.name.endswith("-shm")],
    )


async def test_a_plain_text_cross_site_post_a_wrong_host_and_a_missing_token_are_refused_and_change_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    async with served(path) as (standalone, http):
        before = observable(standalone, path)
        port = standalone.base_url.rsplit(":", 1)[1]

        cross_site = await http.post(
            "/_emulator/reset",
            content=b'{"x": 1}',
            headers={"content-type": "text/plain", "origin": "https://evil.example"},
        )
        rebound = await http.post(
            "/_emulator/credits", json={"balance": 0}, headers={**control(standalone), "host": f"evil.example:{port}"}
        )
        tokenless = await http.post("/_emulator/keys", json={"key": DEFAULT_API_KEY, "secret": "x", "roles": []})
        plain_text_local = await http.post(
            "/_emulator/reset", content=b"{}", headers={"authorization": f"Bearer {standalone.control_token}"}
        )

        after = observable(standalone, path)

    assert (cross_site.status_code, rebound.status_code, tokenless.status_code) == (403, 421, 401)
    assert plain_text_local.status_code == 415
    assert "cross-origin request refused" in cross_site.json()["error"]
    assert f"Host 'evil.example:{port}' is not an address of this emulator" in rebound.json()["error"]
    assert after == before


REQUESTS = [
    ("POST", "/cloud-functions", {"name": "planted"}),
    ("POST", "/gateway/00000000-0000-4000-8000-000000000000", {"a": 1}),
    ("GET", "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy", None),
    ("PUT", "/s3/a/b/c.js?X-Amz-Signature=0", None),
    ("POST", "/_emulator/faults", {"path": "/project/credit"}),
]


@pytest.mark.parametrize(
    ("method", "target", "body"), REQUESTS, ids=[target.split("/")[1] for _, target, _ in REQUESTS]
)
@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "", "a@127.0.0.1"])
async def test_every_route_refuses_a_host_that_is_not_the_emulators(
    tmp_path: Path, method: str, target: str, body: object, host: str
) -> None:
    path = tmp_path / "state.json"
    async with served(path) as (standalone, http):
        before = observable(standalone, path)
        headers = {
            **credentials_for(target, standalone),
            "host": host.format(port=standalone.base_url.rsplit(":", 1)[1]),
        }

        response = await http.request(method, target, json=body, headers=headers)

        assert response.status_code == 421
        assert observable(standalone, path) == before


@pytest.mark.parametrize(
    ("method", "target", "body"), REQUESTS, ids=[target.split("/")[1] for _, target, _ in REQUESTS]
)
async def test_the_same_requests_addressed_to_the_emulator_get_past_the_door(
    tmp_path: Path, method: str, target: str, body: object
) -> None:
    async with served(tmp_path / "state.json") as (standalone, http):
        response = await http.request(method, target, json=body, headers=credentials_for(target, standalone))

    assert response.status_code != 421
    assert "cross-origin" not in response.text


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:3000", "http://127.0.0.1:1"])
@pytest.mark.parametrize(
    ("method", "target", "body"), REQUESTS, ids=[target.split("/")[1] for _, target, _ in REQUESTS]
)
async def test_every_route_refuses_another_origins_page(
    tmp_path: Path, method: str, target: str, body: object, origin: str
) -> None:
    path = tmp_path / "state.json"
    async with served(path) as (standalone, http):
        before = observable(standalone, path)

        response = await http.request(
            method, target, json=body, headers={**credentials_for(target, standalone), "origin": origin}
        )

        assert response.status_code == 403
        assert response.json()["error"].startswith(f"cross-origin request refused: the page at {origin!r}")
        assert observable(standalone, path) == before


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", "127.0.0.1"])
async def test_loopback_names_with_or_without_the_port_are_the_emulators(tmp_path: Path, host: str) -> None:
    async with served(tmp_path / "state.json") as (standalone, http):
        port = standalone.base_url.rsplit(":", 1)[1]
        response = await http.get("/project/credit", headers={"host": host.format(port=port)}, auth=CREDENTIALS)

    assert response.status_code == 200


async def test_a_page_of_the_emulators_own_origin_may_call_it(tmp_path: Path) -> None:
    async with served(tmp_path / "state.json") as (standalone, http):
        response = await http.get("/project/credit", headers={"origin": standalone.base_url}, auth=CREDENTIALS)

    assert response.status_code == 200


async def test_the_printed_control_token_opens_the_control_routes(tmp_path: Path) -> None:
    async with served(tmp_path / "state.json") as (standalone, http):
        topped_up = await http.post("/_emulator/credits", json={"add": 4000}, headers=control(standalone))
        balance = await http.get("/project/credit", auth=CREDENTIALS)

    assert topped_up.json() == {"project_uuid": DEFAULT_PROJECT_UUID, "balance": 5000}
    assert balance.json()["data"] == {"balance": 5000}
    assert len(standalone.control_token) >= 32
    assert f"Control token: {standalone.control_token}\n" in standalone.banner()
    assert f'-H "Authorization: Bearer {standalone.control_token}"' in standalone.banner()
    assert f"{standalone.base_url}/_emulator/credits" in standalone.banner()


async def test_each_start_prints_another_token_unless_one_is_chosen(tmp_path: Path) -> None:
    chosen = "a-chosen-control-token-0123"
    async with served(tmp_path / "a.json") as (first, _), served(tmp_path / "b.json") as (second, _):
        assert first.control_token != second.control_token
    async with served(tmp_path / "c.json", Access(control_token=chosen)) as (standalone, http):
        response = await http.post("/_emulator/reset", json={}, headers=control(standalone))

    assert (standalone.control_token, response.status_code) == (chosen, 200)
    assert chosen not in standalone.banner()
    assert "Control token: the value of APILLON_EMULATOR_CONTROL_TOKEN" in standalone.banner()


async def test_allowed_hosts_and_origins_let_those_in(tmp_path: Path) -> None:
    access = Access(allowed_hosts=("emulator.test", "Box.Local:9000"), allowed_origins=("http://localhost:3000",))
    async with served(tmp_path / "state.json", access) as (_, http):
        named = await http.get("/project/credit", headers={"host": "emulator.test:8787"}, auth=CREDENTIALS)
        cased = await http.get("/project/credit", headers={"host": "box.local"}, auth=CREDENTIALS)
        page = await http.post("/cloud-functions", json={"name": "f"}, headers={"origin": "http://localhost:3000"})

    assert (named.status_code, cased.status_code) == (200, 200)
    assert page.status_code == 400  # past the door: Apillon's own answer to a request without credentials


async def test_a_configured_base_url_is_used_for_handed_out_urls_and_its_host_and_origin_are_allowed(
    tmp_path: Path,
) -> None:
    access = Access(base_url="https://sandbox.example.org/")
    async with served(tmp_path / "state.json", access) as (standalone, http):
        created = await http.post(
            "/cloud-functions",
            json={"name": "f"},
            headers={"host": "sandbox.example.org", "origin": "https://sandbox.example.org"},
            auth=CREDENTIALS,
        )

    function_uuid = created.json()["data"]["functionUuid"]
    assert standalone.base_url == "https://sandbox.example.org"
    assert created.json()["data"]["gatewayUrl"] == f"https://sandbox.example.org/gateway/{function_uuid}"
    assert "at https://sandbox.example.org\n" in standalone.banner()
    assert "sandbox.example.org" in standalone.policy.hosts


@pytest.mark.parametrize(
    ("access", "complaint"),
    [
        (Access(base_url="ftp://example.org"), "--base-url 'ftp://example.org' is not usable"),
        (Access(base_url="http://example.org/apillon"), "--base-url"),
        (Access(base_url="http://user@example.org"), "--base-url"),
        (Access(base_url="http://évil.example"), "--base-url"),
        (Access(allowed_hosts=("evil.example/x",)), "'evil.example/x' is not a host name"),
        (Access(allowed_origins=("localhost:3000",)), "'localhost:3000' is not an origin"),
        (Access(control_token="short"), "APILLON_EMULATOR_CONTROL_TOKEN must be at least 16 characters"),
    ],
)
async def test_options_that_cannot_be_used_stop_it_before_it_reads_writes_or_binds(
    tmp_path: Path, access: Access, complaint: str
) -> None:
    with pytest.raises(ServeError, match=complaint):
        prepare("127.0.0.1", 0, tmp_path / "state.json", False, access)

    assert list(tmp_path.iterdir()) == []


async def test_a_state_whose_clock_reached_the_limit_still_starts_and_serves(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with served(path) as (standalone, http):
        room = (LATEST - standalone.state.clock.now()).total_seconds() - 1  # real time moves on meanwhile
        moved = await http.post("/_emulator/clock", json={"advance_seconds": room}, headers=control(standalone))
        further = await http.post("/_emulator/clock", json={"advance_seconds": 60}, headers=control(standalone))

    async with served(path) as (_, http):
        created = await http.post("/cloud-functions", json={"name": "late"}, auth=CREDENTIALS)
        job = await http.post(
            f"/cloud-functions/{created.json()['data']['functionUuid']}/jobs",
            json={"name": "j", "scriptCid": HELLO_WORLD_CID},
            auth=CREDENTIALS,
        )

    moved_to = datetime.fromisoformat(moved.json()["now"])
    assert LATEST - timedelta(minutes=1) < moved_to < LATEST
    assert further.status_code == 400
    assert (created.status_code, job.status_code) == (201, 201)
    assert datetime.fromisoformat(created.json()["data"]["createTime"]) >= moved_to
    assert [function.name for function in open_state(path).functions.values()] == ["late"]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("LocalHost:8787", "localhost"),
        ("[::1]:8787", "::1"),
        ("[0:0:0:0:0:0:0:1]", "::1"),
        ("::1", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("emulator.test", "emulator.test"),
        ("a@127.0.0.1", None),
        ("127.0.0.1:port", None),
        ("", None),
        ("évil.example", None),
    ],
)
def test_host_names_are_read_without_port_case_or_brackets(value: str, name: str | None) -> None:
    assert host_name(value) == name
