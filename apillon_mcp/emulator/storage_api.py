"""The storage endpoints a script upload needs (apillon-api.md §12), with the backend's Express aliases.

Guard order follows the storage controller: the upload routes and `link-on-ipfs-multiple` validate the body
before the role guard (`@UseGuards(ValidationGuard, AuthGuard)`, apillon-api.md Corrections §2), so a bad body
gets its 422 whatever the key's roles; every other route checks the role first.
"""

from collections.abc import Mapping
from urllib.parse import quote

from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.listing import parse_list_query
from apillon_mcp.emulator.records import File, Role, Service
from apillon_mcp.emulator.routing import ApiRoute, Call, role_guard, validation_guard
from apillon_mcp.emulator.s3 import presigned_put_url
from apillon_mcp.emulator.state import EmulatorState
from apillon_mcp.emulator.validation import parse_upload_request
from apillon_mcp.emulator.wire import Json, file_details_json, file_json, upload_details_json, upload_url_json

_EXECUTE = role_guard(Role.EXECUTE, Service.STORAGE)
_READ = role_guard(Role.READ, Service.STORAGE)
_READ_STORAGE_OR_HOSTING = role_guard(Role.READ, Service.STORAGE, Service.HOSTING)


def _get_links_dto(body: Mapping[str, object]) -> None:
    """`GetLinksDto` declares parsers but no validators: its ValidationGuard lets every body through."""


_UPLOAD = (validation_guard(parse_upload_request), _EXECUTE)
_GET_LINKS = (validation_guard(_get_links_dto), _READ_STORAGE_OR_HOSTING)


class StorageApi:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def routes(self) -> list[ApiRoute]:
        return [
            ApiRoute("POST", "/storage/link-on-ipfs-multiple", _GET_LINKS, self.links_on_ipfs),
            ApiRoute("POST", "/storage/buckets/{bucket_uuid}/upload", _UPLOAD, self.request_upload),
            ApiRoute("POST", "/storage/{bucket_uuid}/upload", _UPLOAD, self.request_upload),
            ApiRoute("POST", "/storage/buckets/{bucket_uuid}/upload/{session_uuid}/end", (_EXECUTE,), self.end, 200),
            ApiRoute("POST", "/storage/{bucket_uuid}/upload/{session_uuid}/end", (_EXECUTE,), self.end, 200),
            ApiRoute("GET", "/storage/buckets/{bucket_uuid}/files", (_READ,), self.list_files),
            ApiRoute("GET", "/storage/buckets/{bucket_uuid}/files/{file_id}", (_READ,), self.get_file),
            ApiRoute("GET", "/storage/{bucket_uuid}/file/{file_id}/detail", (_READ,), self.get_file),
        ]

    def links_on_ipfs(self, call: Call) -> Json:
        """`{"cids": [...]}` → one link per CID, in order, on the emulator's `/ipfs/` (`type` plays no part).

        The newer SDK asks for these with CIDs it computed before uploading: a link serves the bytes once a stored
        file has that CID. The spec gives no validation rules; a body without a list of strings fails unhandled.
        """
        cids = call.body.get("cids")
        if not isinstance(cids, list) or not all(isinstance(cid, str) for cid in cids):
            raise EmulatedError.unhandled(500)
        return {"links": [f"{call.base_url}/ipfs/{quote(cid, safe='')}" for cid in cids]}

    def request_upload(self, call: Call) -> Json:
        request = parse_upload_request(call.body)
        storage = self._state.storage
        session, uploads = storage.request_upload(call.params["bucket_uuid"], request, project_uuid=call.project_uuid)
        now = self._state.clock.now()
        files = [
            upload_url_json(item, upload.file_uuid, presigned_put_url(call.base_url, storage.signing_key, upload, now))
            for item, upload in zip(request.files, uploads, strict=True)
        ]
        return {"sessionUuid": session.session_uuid, "files": files}

    def end(self, call: Call) -> bool:
        # The bucket in the path is not compared with the session's: the backend ignores it too.
        self._state.storage.end_session(call.params["session_uuid"], project_uuid=call.project_uuid)
        return True

    def list_files(self, call: Call) -> Json:
        query = parse_list_query(call.query)
        session_uuid = next(iter(call.query.get("sessionUuid", [])), None)
        rows, total = self._state.storage.list_files(
            call.params["bucket_uuid"], query, session_uuid, project_uuid=call.project_uuid
        )
        items = [file_json(row, call.base_url) for row in rows]
        return {"items": items, "total": total, "page": query.page, "limit": query.limit}

    def get_file(self, call: Call) -> Json:
        found = self._state.storage.file_details(call.params["file_id"], project_uuid=call.project_uuid)
        return file_details_json(found, call.base_url) if isinstance(found, File) else upload_details_json(found)
