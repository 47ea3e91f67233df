"""The presigned S3 upload URLs (apillon-api.md §12 step 2): no Apillon auth, S3's own XML errors."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2
import pytest

from apillon_mcp.emulator import DEFAULT_API_SECRET, EmulatorState, ManualClock

pytestmark = pytest.mark.anyio

SCRIPT = b"_STD_.ws.open([], () => {});\n"


async def signed_url(state: EmulatorState, client: httpx2.AsyncClient) -> tuple[str, str]:
    """(the signed URL, the file uuid) of a fresh upload request."""
    bucket = state.create_function("f").bucket_uuid
    entry = (await client.post(f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "index.js"}]})).json()[
        "data"
    ]["files"][0]
    return entry["url"], entry["fileUuid"]


def with_query(url: str, changes: dict[str, str | None]) -> str:
    """`url` with query parameters replaced, or removed where the new value is None."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for name, value in changes.items():
        query.pop(name)
        if value is not None:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def received(state: EmulatorState, file_uuid: str) -> bytes | None:
    return state.storage.uploads[file_uuid].content


async def test_a_put_to_the_signed_url_stores_the_raw_bytes_without_credentials(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await signed_url(state, client)
    content = bytes(range(256)) * 3

    response = await anonymous.put(url, content=content)

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"].startswith('"')
    assert received(state, file_uuid) == content


async def test_a_second_put_replaces_the_bytes(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await signed_url(state, client)

    await anonymous.put(url, content=b"first")
    await anonymous.put(url, content=b"second")

    assert received(state, file_uuid) == b"second"


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Amz-Signature": "0" * 64},
        {"X-Amz-Signature": None},
        {"X-Amz-Expires": "86400"},
        {"X-Amz-Date": "20990101T000000Z"},
    ],
    ids=["wrong-signature", "no-signature", "longer-expiry", "later-date"],
)
async def test_a_tampered_or_unsigned_url_is_a_403_signature_mismatch(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient, changes: dict[str, str | None]
) -> None:
    url, file_uuid = await signed_url(state, client)

    response = await anonymous.put(with_query(url, changes), content=SCRIPT)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/xml"
    assert "<Error><Code>SignatureDoesNotMatch</Code>" in response.text
    assert received(state, file_uuid) is None


async def test_another_object_with_a_valid_signature_is_a_signature_mismatch(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, _ = await signed_url(state, client)

    response = await anonymous.put(url.replace("/index.js?", "/other.js?"), content=SCRIPT)

    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text


async def test_the_signature_covers_the_method(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, _ = await signed_url(state, client)

    response = await anonymous.get(url)

    assert response.status_code == 403
    assert "SignatureDoesNotMatch" in response.text


async def test_the_url_expires_900_seconds_after_it_was_issued_on_the_emulator_clock(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, file_uuid = await signed_url(state, client)

    clock.advance(900)
    last_moment = await anonymous.put(url, content=b"in time")
    clock.advance(1)
    expired = await anonymous.put(url, content=b"too late")

    assert last_moment.status_code == 200
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    assert "<Expires>2025-01-01T00:15:00Z</Expires>" in expired.text
    assert received(state, file_uuid) == b"in time"


async def test_a_put_that_also_sends_an_authorization_header_is_a_400_and_stores_nothing(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    url, file_uuid = await signed_url(state, client)

    response = await client.put(url, content=SCRIPT)

    assert response.status_code == 400
    assert "<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed" in response.text
    assert DEFAULT_API_SECRET not in response.text
    assert received(state, file_uuid) is None


async def test_urls_issued_before_a_reset_no_longer_work(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, _ = await signed_url(state, client)
    state.reset()

    response = await anonymous.put(url, content=SCRIPT)

    assert response.status_code == 403


async def test_s3_requests_are_logged_with_the_api_requests(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    url, _ = await signed_url(state, client)

    await anonymous.put(url, content=SCRIPT)

    assert [method for method, _ in state.requests] == ["POST", "PUT"]
    assert state.requests[1][1] == url.removeprefix("http://emulator")
