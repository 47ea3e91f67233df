"""Every URL the emulator hands out starts with its configured base URL, never with the Host a request names."""

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, ManualClock, create_emulator

from support import NO_AUTH

pytestmark = pytest.mark.anyio

CONFIGURED = "http://127.0.0.1:8787"
SCRIPT = b"_STD_.ws.open([], () => {});\n"


async def handed_out_urls(app: httpx2.ASGITransport, clock: ManualClock) -> list[str]:
    """The gateway URLs, presigned upload URL and IPFS links of one function and one upload, asked for through a
    Host that names somebody else."""
    auth = (DEFAULT_API_KEY, DEFAULT_API_SECRET)
    async with httpx2.AsyncClient(transport=app, base_url="http://attacker.example:8787", auth=auth) as http:
        created = (await http.post("/cloud-functions", json={"name": "f"})).json()["data"]
        function_uuid, bucket = created["functionUuid"], created["bucketUuid"]
        fetched = (await http.get(f"/cloud-functions/{function_uuid}")).json()["data"]
        environment = await http.post(
            f"/cloud-functions/{function_uuid}/environment", json={"variables": [{"key": "A", "value": "1"}]}
        )
        links = (await http.post("/storage/link-on-ipfs-multiple", json={"cids": ["bafy"]})).json()["data"]
        upload = (await http.post(f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "a.js"}]})).json()
        url, session = upload["data"]["files"][0]["url"], upload["data"]["sessionUuid"]
        assert (await http.put(url, content=SCRIPT, auth=NO_AUTH)).status_code == 200
        assert (await http.post(f"/storage/buckets/{bucket}/upload/{session}/end")).status_code == 200
        clock.advance(60)
        files = (await http.get(f"/storage/buckets/{bucket}/files")).json()["data"]["items"]
    return [
        created["gatewayUrl"],
        fetched["gatewayUrl"],
        environment.json()["data"]["gatewayUrl"],
        *links["links"],
        url,
        files[0]["link"],
    ]


async def test_the_standalone_emulator_hands_out_urls_on_its_configured_base_url(
    state: EmulatorState, clock: ManualClock
) -> None:
    urls = await handed_out_urls(httpx2.ASGITransport(app=create_emulator(state, base_url=CONFIGURED)), clock)

    assert len(urls) == 6
    assert all(url.startswith(f"{CONFIGURED}/") for url in urls), urls


async def test_the_in_process_sandbox_hands_out_urls_on_sandbox_invalid(
    state: EmulatorState, clock: ManualClock
) -> None:
    urls = await handed_out_urls(httpx2.ASGITransport(app=create_emulator(state)), clock)

    assert all(url.startswith("http://sandbox.invalid/") for url in urls), urls
