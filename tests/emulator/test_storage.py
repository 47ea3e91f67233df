"""The storage upload flow (apillon-api.md §12): links by CID, signed upload URLs, ending a session, stored files."""

import uuid

import httpx2
import pytest

from apillon_mcp.emulator import EmulatorState, FileStatus, JobStatus, LifecycleDelays, ManualClock, Role, Service
from apillon_mcp.unixfs import file_cids

from support import NO_AUTH

pytestmark = pytest.mark.anyio

OTHER_PROJECT = "c0ffee00-1234-4abc-8def-0123456789ab"
OTHER_KEY, OTHER_SECRET = "0b8d5c1e-7a2f-4e6b-9d3c-5f1a8e2b7c40", "Zx9!Qw3#Er5%"
SCRIPT = b"console.log('hello');\n"
SHAPE_B = {"id", "status", "model", "errors", "path", "timestamp"}
SHAPE_C = {"id", "code", "message", "path", "timestamp"}
FILE_KEYS = {
    "id",
    "createTime",
    "updateTime",
    "fileUuid",
    "CID",
    "CIDv1",
    "name",
    "contentType",
    "path",
    "size",
    "fileStatus",
    "link",
}


async def request_upload(client: httpx2.AsyncClient, bucket_uuid: str, **body: object) -> httpx2.Response:
    return await client.post(
        f"/storage/buckets/{bucket_uuid}/upload", json={"files": [{"fileName": "index.js"}], **body}
    )


async def upload(client: httpx2.AsyncClient, bucket_uuid: str, files: dict[str, bytes | None]) -> str:
    """Request URLs for `files`, PUT the ones with content, end the session; the session uuid."""
    answer = await client.post(
        f"/storage/buckets/{bucket_uuid}/upload", json={"files": [{"fileName": name} for name in files]}
    )
    data = answer.json()["data"]
    for entry in data["files"]:
        content = files[entry["fileName"]]
        if content is not None:
            assert (await client.put(entry["url"], content=content, auth=NO_AUTH)).status_code == 200
    ended = await client.post(f"/storage/buckets/{bucket_uuid}/upload/{data['sessionUuid']}/end")
    assert ended.status_code == 200
    return str(data["sessionUuid"])


async def test_requesting_upload_urls_answers_201_with_a_session_and_one_signed_url_per_file(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(
        f"/storage/buckets/{bucket}/upload",
        json={"files": [{"fileName": "index.js", "contentType": "application/javascript"}, {"fileName": "b.txt"}]},
    )

    body = response.json()
    data = body["data"]
    first, second = data["files"]
    session = data["sessionUuid"]
    assert (response.status_code, body["status"]) == (201, 201)
    assert set(data) == {"sessionUuid", "files"}
    assert uuid.UUID(session).version == 4
    assert list(first) == ["path", "fileName", "contentType", "url", "fileUuid"]
    assert (first["path"], first["fileName"], first["contentType"]) == (None, "index.js", "application/javascript")
    assert (second["fileName"], second["contentType"]) == ("b.txt", None)
    assert first["url"].startswith(f"http://emulator/s3/{bucket}/{session}/index.js?")
    assert "X-Amz-Expires=900" in first["url"]
    assert "X-Amz-Signature=" in first["url"]
    assert first["fileUuid"] != second["fileUuid"]
    assert {upload.file_uuid for upload in state.storage.uploads.values()} == {first["fileUuid"], second["fileUuid"]}


async def test_the_short_upload_route_is_an_alias(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(f"/storage/{bucket}/upload", json={"files": [{"fileName": "index.js"}]})

    assert response.status_code == 201
    assert response.json()["data"]["files"][0]["fileName"] == "index.js"


@pytest.mark.parametrize(
    ("path", "normalised"),
    [("/scripts", "scripts/"), ("//a/b/", "a/b/"), ("c", "c/"), ("/", "/"), ("", "")],
    ids=repr,
)
async def test_a_path_loses_its_leading_slashes_and_gains_a_trailing_one(
    state: EmulatorState, client: httpx2.AsyncClient, path: str, normalised: str
) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(
        f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "x.js", "path": path}]}
    )

    entry = response.json()["data"]["files"][0]
    assert entry["path"] == normalised
    assert f"/{normalised}x.js?" in entry["url"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, 42200040, "FILES_PROPERTY_NOT_PRESENT"),
        ({"files": None}, 42200040, "FILES_PROPERTY_NOT_PRESENT"),
        ({"files": []}, 42200040, "FILES_PROPERTY_NOT_PRESENT"),
        ({"files": [{"fileName": f"{n}.js"} for n in range(201)]}, 42200150, "INVALID_FILES_LENGTH"),
        ({"files": [{"fileName": "a.js"}, {"contentType": "text/plain"}]}, 42200008, "FILE_NAME_NOT_PRESENT"),
        ({"files": [{"fileName": ""}]}, 42200008, "FILE_NAME_NOT_PRESENT"),
        ({"files": {"fileName": None}}, 42200008, "FILE_NAME_NOT_PRESENT"),
    ],
    ids=["missing", "null", "empty", "201-files", "no-file-name", "empty-file-name", "not-a-list"],
)
async def test_an_invalid_upload_body_is_a_422_dto_error_on_files(
    state: EmulatorState, client: httpx2.AsyncClient, body: dict[str, object], code: int, message: str
) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(f"/storage/buckets/{bucket}/upload", json=body)

    answer = response.json()
    assert response.status_code == 422
    assert set(answer) == SHAPE_B
    assert answer["model"] == "ApillonApiCreateS3UrlsForUploadDto"
    assert answer["errors"] == [{"code": code, "property": "files", "message": message}]
    assert state.storage.sessions == {}


async def test_two_hundred_files_are_accepted(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(
        f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": f"{n}.js"} for n in range(200)]}
    )

    assert response.status_code == 201
    assert len(response.json()["data"]["files"]) == 200


async def test_an_unknown_bucket_is_a_404_without_a_status_field(client: httpx2.AsyncClient) -> None:
    response = await request_upload(client, str(uuid.uuid4()))

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40406002, "BUCKET_NOT_FOUND")


async def test_a_bucket_of_another_project_is_a_403(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("theirs", project_uuid=OTHER_PROJECT).bucket_uuid

    response = await request_upload(client, bucket)

    body = response.json()
    assert response.status_code == 403
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40300000, "Insufficient permissions to access this record")


async def test_uploading_needs_execute_on_storage_not_on_computing(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(role, Service.COMPUTING) for role in Role])

    response = await client.post(
        f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "a.js"}]}, auth=(OTHER_KEY, OTHER_SECRET)
    )

    body = response.json()
    assert response.status_code == 403
    assert body["status"] == 403
    assert body["message"] == "Insufficient permissions - missing KEY_EXECUTE permission"
    assert state.storage.sessions == {}


@pytest.mark.parametrize("route", ["/storage/buckets/{}/upload", "/storage/{}/upload"], ids=["upload", "alias"])
async def test_the_upload_routes_validate_the_body_before_the_role_guard(
    state: EmulatorState, anonymous: httpx2.AsyncClient, route: str
) -> None:
    """`@UseGuards(AuthGuard)` over `@UseGuards(ValidationGuard, AuthGuard)`: decorators apply bottom-up."""
    bucket = state.create_function("f").bucket_uuid
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.COMPUTING)])

    response = await anonymous.post(route.format(bucket), json={"files": []}, auth=(OTHER_KEY, OTHER_SECRET))

    body = response.json()
    assert response.status_code == 422
    assert set(body) == SHAPE_B
    assert body["model"] == "ApillonApiCreateS3UrlsForUploadDto"
    assert body["errors"] == [{"code": 42200040, "property": "files", "message": "FILES_PROPERTY_NOT_PRESENT"}]
    assert state.storage.sessions == {}


async def test_ending_a_session_checks_the_role_before_looking_the_session_up(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    nowhere = "00000000-0000-4000-8000-000000000000"
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.READ, Service.STORAGE)])

    refused = await anonymous.post(
        f"/storage/buckets/{nowhere}/upload/{nowhere}/end", json={}, auth=(OTHER_KEY, OTHER_SECRET)
    )
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.EXECUTE, Service.STORAGE)])
    looked_up = await anonymous.post(
        f"/storage/buckets/{nowhere}/upload/{nowhere}/end", json={}, auth=(OTHER_KEY, OTHER_SECRET)
    )

    assert (refused.status_code, refused.json()["message"]) == (
        403,
        "Insufficient permissions - missing KEY_EXECUTE permission",
    )
    assert (looked_up.status_code, looked_up.json()["code"]) == (404, 40406004)


async def test_a_client_chosen_session_is_created_then_extended_and_a_repeated_name_keeps_its_file_uuid(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = str(uuid.uuid4())

    first = (await request_upload(client, bucket, sessionUuid=session)).json()["data"]
    again = (await request_upload(client, bucket, sessionUuid=session)).json()["data"]
    other = await client.post(
        f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "other.js"}], "sessionUuid": session}
    )

    assert first["sessionUuid"] == again["sessionUuid"] == session
    assert first["files"][0]["fileUuid"] == again["files"][0]["fileUuid"]
    assert other.json()["data"]["files"][0]["fileUuid"] != first["files"][0]["fileUuid"]
    assert list(state.storage.sessions) == [session]
    assert len(state.storage.uploads) == 2


async def test_adding_to_an_ended_session_is_a_400(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = await upload(client, bucket, {"index.js": SCRIPT})

    response = await request_upload(client, bucket, sessionUuid=session)

    body = response.json()
    assert response.status_code == 400
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40006001, "FILE_UPLOAD_SESSION_ALREADY_ENDED")


async def test_a_session_of_another_bucket_is_a_400(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    first, second = state.create_function("a").bucket_uuid, state.create_function("b").bucket_uuid
    session = (await request_upload(client, first)).json()["data"]["sessionUuid"]

    response = await request_upload(client, second, sessionUuid=session)

    body = response.json()
    assert response.status_code == 400
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (42206018, "SESSION_UUID_BELONGS_TO_OTHER_BUCKET")


async def test_ending_a_session_answers_200_true_and_stores_the_files_whose_bytes_arrived(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid

    session = await upload(client, bucket, {"index.js": SCRIPT, "never-sent.js": None})

    (stored,) = state.files.values()
    assert (stored.name, stored.content, stored.session_uuid) == ("index.js", SCRIPT, session)
    assert stored.file_status == FileStatus.UPLOADED_TO_S3
    assert state.storage.sessions[session].status == 2


async def test_the_end_answer_is_200_with_data_true(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = (await request_upload(client, bucket)).json()["data"]["sessionUuid"]

    response = await client.post(f"/storage/{bucket}/upload/{session}/end")

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["data"]) == (200, True)


async def test_ending_an_unknown_session_is_a_404(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.post(f"/storage/buckets/{bucket}/upload/{uuid.uuid4()}/end")

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40406004, "FILE_UPLOAD_SESSION_NOT_FOUND")


async def test_ending_a_session_twice_is_a_400(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = await upload(client, bucket, {"index.js": SCRIPT})

    response = await client.post(f"/storage/buckets/{bucket}/upload/{session}/end")

    assert response.status_code == 400
    assert response.json()["code"] == 40006001


async def test_the_bucket_in_the_end_path_is_not_checked(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid
    answer = (await request_upload(client, bucket)).json()["data"]
    await client.put(answer["files"][0]["url"], content=SCRIPT, auth=NO_AUTH)

    response = await client.post(f"/storage/buckets/{uuid.uuid4()}/upload/{answer['sessionUuid']}/end")

    assert response.status_code == 200
    assert [file.bucket_uuid for file in state.files.values()] == [bucket]


async def test_ending_another_projects_session_is_a_403(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("theirs", project_uuid=OTHER_PROJECT).bucket_uuid
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.EXECUTE, Service.STORAGE)], project_uuid=OTHER_PROJECT)
    session = (
        await client.post(
            f"/storage/buckets/{bucket}/upload", json={"files": [{"fileName": "a"}]}, auth=(OTHER_KEY, OTHER_SECRET)
        )
    ).json()["data"]["sessionUuid"]

    response = await client.post(f"/storage/buckets/{bucket}/upload/{session}/end")

    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient permissions to access this record"


async def test_a_stored_file_reaches_ipfs_then_crust_on_the_clock_with_the_cids_of_its_bytes(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = await upload(client, bucket, {"index.js": SCRIPT})
    file_uuid = next(iter(state.files))
    cids = file_cids(SCRIPT)

    async def details() -> dict[str, object]:
        response = await client.get(f"/storage/buckets/{bucket}/files/{file_uuid}")
        assert response.status_code == 200
        data: dict[str, object] = response.json()["data"]
        return data

    clock.advance(4.999)
    on_s3 = await details()
    clock.advance(0.001)
    on_ipfs = await details()
    clock.advance(10)
    pinned = await details()

    assert set(on_s3) == FILE_KEYS | {"directoryUuid"}
    assert (on_s3["fileStatus"], on_s3["CID"], on_s3["CIDv1"], on_s3["link"]) == (2, None, None, None)
    assert (on_s3["name"], on_s3["size"], on_s3["path"], on_s3["directoryUuid"]) == (
        "index.js",
        len(SCRIPT),
        None,
        None,
    )
    assert (on_ipfs["fileStatus"], on_ipfs["CID"], on_ipfs["CIDv1"]) == (3, cids.v0, cids.v1)
    assert on_ipfs["link"] == f"http://emulator/ipfs/{cids.v1}"
    assert on_ipfs["updateTime"] == "2025-01-01T00:00:05.000Z"
    assert (pinned["fileStatus"], pinned["updateTime"]) == (4, "2025-01-01T00:00:15.000Z")
    assert pinned["createTime"] == "2025-01-01T00:00:00.000Z"
    assert state.files[file_uuid].session_uuid == session


async def test_the_ipfs_and_pinning_delays_are_configurable(client: httpx2.AsyncClient) -> None:
    clock = ManualClock()
    state = EmulatorState(clock=clock, delays=LifecycleDelays(ipfs_seconds=1, pin_seconds=2))
    stored = state.store_file(state.create_function("f").bucket_uuid, "a.js", SCRIPT)

    clock.advance(1)
    on_ipfs = state.files[stored.file_uuid].file_status
    clock.advance(2)

    assert (on_ipfs, state.files[stored.file_uuid].file_status) == (3, 4)


async def test_details_accept_the_file_uuid_either_cid_or_the_internal_id_once_on_ipfs(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    stored = state.store_file(bucket, "index.js", SCRIPT)
    by_cid_too_early = await client.get(f"/storage/buckets/{bucket}/files/{stored.cid_v0}")
    clock.advance(5)

    answers = [
        (await client.get(f"/storage/buckets/{bucket}/files/{file_id}")).json()["data"]
        for file_id in (stored.file_uuid, stored.cid_v0, stored.cid_v1, str(stored.id))
    ]
    alias = await client.get(f"/storage/{bucket}/file/{stored.file_uuid}/detail")

    assert by_cid_too_early.status_code == 404
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["fileUuid"] == stored.file_uuid
    assert alias.json()["data"] == answers[0]


async def test_details_of_a_requested_file_without_a_row_show_status_1_then_2_once_its_bytes_arrive(
    state: EmulatorState, client: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    entry = (
        await client.post(
            f"/storage/buckets/{bucket}/upload",
            json={"files": [{"fileName": "a.js", "contentType": "text/javascript"}]},
        )
    ).json()["data"]["files"][0]

    requested = (await client.get(f"/storage/buckets/{bucket}/files/{entry['fileUuid']}")).json()["data"]
    await client.put(entry["url"], content=SCRIPT, auth=NO_AUTH)
    received = (await client.get(f"/storage/buckets/{bucket}/files/{entry['fileUuid']}")).json()["data"]

    assert set(requested) == (FILE_KEYS - {"id"}) | {"directoryUuid"}  # a request, not a file row
    assert (requested["fileStatus"], requested["size"], requested["CID"]) == (1, None, None)
    assert (requested["name"], requested["contentType"]) == ("a.js", "text/javascript")
    assert (received["fileStatus"], received["size"]) == (2, len(SCRIPT))
    assert state.files == {}


async def test_an_unknown_file_is_a_404(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid

    response = await client.get(f"/storage/buckets/{bucket}/files/{uuid.uuid4()}")

    body = response.json()
    assert response.status_code == 404
    assert set(body) == SHAPE_C
    assert (body["code"], body["message"]) == (40406005, "FILE_DOES_NOT_EXISTS")


async def test_a_file_of_another_project_is_a_403(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    stored = state.store_file(state.create_function("theirs", project_uuid=OTHER_PROJECT).bucket_uuid, "a", SCRIPT)

    response = await client.get(f"/storage/buckets/{stored.bucket_uuid}/files/{stored.file_uuid}")

    assert response.status_code == 403


async def test_listing_files_filters_by_session_and_name_and_pages_newest_first(
    state: EmulatorState, client: httpx2.AsyncClient, clock: ManualClock
) -> None:
    bucket = state.create_function("f").bucket_uuid
    session = await upload(client, bucket, {"a.js": b"a", "b.js": b"b", "notes.txt": b"n"})
    clock.advance(1)
    state.store_file(bucket, "c.js", b"c")
    state.store_file(state.create_function("g").bucket_uuid, "elsewhere.js", b"e")

    everything = (await client.get(f"/storage/buckets/{bucket}/files")).json()["data"]
    in_session = (await client.get(f"/storage/buckets/{bucket}/files?sessionUuid={session}&limit=2")).json()["data"]
    scripts = (await client.get(f"/storage/buckets/{bucket}/files?search=.js&page=2&limit=2")).json()["data"]
    oldest_first = (await client.get(f"/storage/buckets/{bucket}/files?orderBy=createTime")).json()["data"]

    assert (everything["total"], everything["page"], everything["limit"]) == (4, 1, 20)
    assert [item["name"] for item in everything["items"]] == ["c.js", "notes.txt", "b.js", "a.js"]
    assert set(everything["items"][0]) == FILE_KEYS
    assert (in_session["total"], [item["name"] for item in in_session["items"]]) == (3, ["notes.txt", "b.js"])
    assert (scripts["total"], [item["name"] for item in scripts["items"]]) == (3, ["a.js"])
    assert [item["name"] for item in oldest_first["items"]] == ["a.js", "b.js", "notes.txt", "c.js"]


async def test_listing_files_searches_the_path_and_name_or_the_cid_and_shows_live_files_only(
    state: EmulatorState, client: httpx2.AsyncClient, clock: ManualClock
) -> None:
    bucket = state.create_function("f").bucket_uuid
    nested = state.store_file(bucket, "index.js", b"nested", path="/src/lib")
    state.store_file(bucket, "other.js", b"other")
    clock.advance(60)  # on IPFS: the CIDs are published

    def names(answer: httpx2.Response) -> list[str]:
        return [item["name"] for item in answer.json()["data"]["items"]]

    by_path = await client.get(f"/storage/buckets/{bucket}/files", params={"search": "lib/index"})
    by_cid = await client.get(f"/storage/buckets/{bucket}/files", params={"search": nested.cid_v1})
    asked_deleted = await client.get(f"/storage/buckets/{bucket}/files", params={"status": "9"})

    assert names(by_path) == ["index.js"]
    assert names(by_cid) == ["index.js"]
    assert sorted(names(asked_deleted)) == ["index.js", "other.js"]


async def test_listing_files_needs_read_on_storage(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    bucket = state.create_function("f").bucket_uuid
    state.add_api_key(OTHER_KEY, OTHER_SECRET, [(Role.EXECUTE, Service.STORAGE), (Role.READ, Service.COMPUTING)])

    response = await client.get(f"/storage/buckets/{bucket}/files", auth=(OTHER_KEY, OTHER_SECRET))

    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient permissions - missing KEY_READ permission"


async def test_listing_files_of_an_unknown_bucket_is_a_404(client: httpx2.AsyncClient) -> None:
    response = await client.get(f"/storage/buckets/{uuid.uuid4()}/files")

    assert (response.status_code, response.json()["code"]) == (404, 40406002)


async def test_a_seeded_file_is_a_finished_upload_that_moves_on_the_clock(
    state: EmulatorState, clock: ManualClock
) -> None:
    bucket = state.create_function("f").bucket_uuid

    stored = state.store_file(bucket, "index.js", SCRIPT, path="/src", content_type="application/javascript")

    assert stored.file_status == FileStatus.UPLOADED_TO_S3
    assert (stored.path, stored.content_type, stored.bucket_uuid) == ("src/", "application/javascript", bucket)
    assert (stored.cid_v0, stored.cid_v1) == (file_cids(SCRIPT).v0, file_cids(SCRIPT).v1)
    assert state.files[stored.file_uuid] == stored
    clock.advance(15)
    assert state.files[stored.file_uuid].file_status == FileStatus.PINNED_TO_CRUST


async def test_seeding_a_file_into_an_unknown_bucket_is_a_value_error(state: EmulatorState) -> None:
    with pytest.raises(ValueError, match="no bucket"):
        state.store_file("nope", "a.js", SCRIPT)


async def test_file_content_by_cid_reads_a_stored_file_back_by_either_cid(state: EmulatorState) -> None:
    stored = state.store_file(state.create_function("f").bucket_uuid, "index.js", SCRIPT)

    assert state.file_content_by_cid(stored.cid_v0) == SCRIPT
    assert state.file_content_by_cid(stored.cid_v1) == SCRIPT
    assert state.file_content_by_cid(file_cids(b"other").v0) is None
    assert state.file_content_by_cid("not-a-cid") is None


async def test_the_ipfs_link_serves_the_bytes_without_credentials(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    stored = state.store_file(bucket, "index.js", SCRIPT)
    clock.advance(5)
    link = (await client.get(f"/storage/buckets/{bucket}/files/{stored.file_uuid}")).json()["data"]["link"]

    response = await anonymous.get(link)
    missing = await anonymous.get(f"/ipfs/{file_cids(b'other').v1}")

    assert (response.status_code, response.content) == (200, SCRIPT)
    assert missing.status_code == 404


async def test_a_reset_forgets_sessions_uploads_and_files(state: EmulatorState, client: httpx2.AsyncClient) -> None:
    await upload(client, state.create_function("f").bucket_uuid, {"a.js": SCRIPT})

    state.reset()

    assert (state.storage.sessions, state.storage.uploads, state.files) == ({}, {}, {})


async def test_links_on_ipfs_answer_201_with_one_emulator_link_per_cid_in_order(client: httpx2.AsyncClient) -> None:
    cids = [file_cids(b"b").v1, file_cids(b"a").v0]

    response = await client.post("/storage/link-on-ipfs-multiple", json={"cids": cids, "type": "ipfs"})

    body = response.json()
    assert (response.status_code, body["status"]) == (201, 201)
    assert body["data"] == {"links": [f"http://emulator/ipfs/{cid}" for cid in cids]}


async def test_a_link_asked_for_before_the_upload_serves_the_bytes_once_the_file_is_stored(
    state: EmulatorState, client: httpx2.AsyncClient, anonymous: httpx2.AsyncClient
) -> None:
    bucket = state.create_function("f").bucket_uuid
    answer = await client.post("/storage/link-on-ipfs-multiple", json={"cids": [file_cids(SCRIPT).v1]})
    link = answer.json()["data"]["links"][0]
    before = await anonymous.get(link)

    await upload(client, bucket, {"index.js": SCRIPT})

    after = await anonymous.get(link)
    assert before.status_code == 404
    assert (after.status_code, after.content) == (200, SCRIPT)


@pytest.mark.parametrize(
    "roles",
    [[(Role.READ, Service.STORAGE)], [(Role.READ, Service.HOSTING)]],
    ids=["storage", "hosting"],
)
async def test_links_on_ipfs_need_read_on_storage_or_on_hosting(
    state: EmulatorState, anonymous: httpx2.AsyncClient, roles: list[tuple[Role, Service]]
) -> None:
    state.add_api_key(OTHER_KEY, OTHER_SECRET, roles)

    response = await anonymous.post("/storage/link-on-ipfs-multiple", json={"cids": []}, auth=(OTHER_KEY, OTHER_SECRET))

    assert (response.status_code, response.json()["data"]) == (201, {"links": []})


async def test_links_on_ipfs_without_read_on_storage_or_hosting_are_a_403(
    state: EmulatorState, anonymous: httpx2.AsyncClient
) -> None:
    roles = [(Role.READ, Service.COMPUTING), (Role.EXECUTE, Service.STORAGE), (Role.WRITE, Service.HOSTING)]
    state.add_api_key(OTHER_KEY, OTHER_SECRET, roles)

    response = await anonymous.post("/storage/link-on-ipfs-multiple", json={"cids": []}, auth=(OTHER_KEY, OTHER_SECRET))

    body = response.json()
    assert (response.status_code, body["status"]) == (403, 403)
    assert body["message"] == "Insufficient permissions - missing KEY_READ permission"


@pytest.mark.parametrize("body", [{}, {"cids": "Qm"}, {"cids": [1]}], ids=["missing", "string", "number"])
async def test_links_on_ipfs_without_a_list_of_cid_strings_fail_unhandled(
    client: httpx2.AsyncClient, body: dict[str, object]
) -> None:
    response = await client.post("/storage/link-on-ipfs-multiple", json=body)

    assert response.status_code == 500
    assert (response.json()["code"], response.json()["message"]) == (500001, "Error calling internal service!")


async def test_the_sdk_upload_sequence_deploys_a_job_from_a_client_computed_cidv1(
    state: EmulatorState, clock: ManualClock, client: httpx2.AsyncClient
) -> None:
    """`@apillon/sdk` 3.12 `uploadFiles` as the CLI's create-job calls it, then `createJob` with the CIDv1."""
    function = state.create_function("f")
    bucket = function.bucket_uuid
    session = str(uuid.uuid4())
    cid = file_cids(SCRIPT).v1
    files = [{"fileName": "hello.js", "contentType": "application/javascript"}]

    links = await client.post("/storage/link-on-ipfs-multiple", json={"cids": [cid]})
    urls = await client.post(f"/storage/buckets/{bucket}/upload", json={"files": files, "sessionUuid": session})
    put = await client.put(urls.json()["data"]["files"][0]["url"], content=SCRIPT, auth=NO_AUTH)
    ended = await client.post(f"/storage/buckets/{bucket}/upload/{session}/end", json={"awaitCid": True})
    job = await client.post(f"/cloud-functions/{function.function_uuid}/jobs", json={"name": "j", "scriptCid": cid})
    clock.advance(30)

    statuses = [links.status_code, urls.status_code, put.status_code, ended.status_code, job.status_code]
    assert statuses == [201, 201, 200, 200, 201]
    assert urls.json()["data"]["sessionUuid"] == session
    assert job.json()["data"]["scriptCid"] == file_cids(SCRIPT).v0
    assert state.file_content_by_cid(job.json()["data"]["scriptCid"]) == SCRIPT
    assert state.jobs[job.json()["data"]["jobUuid"]].job_status == JobStatus.MATCHED
