"""The emulated storage service (apillon-api.md §12): upload sessions, signed-URL uploads, stored files, CIDs.

No HTTP here: `storage_api` serves the endpoints and `s3` the signed upload URLs.
"""

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import uuid4

from apillon_mcp.emulator.auth import check_access
from apillon_mcp.emulator.clock import Clock
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.lifecycle import LifecycleDelays
from apillon_mcp.emulator.listing import FILE_COLUMNS, ListQuery, name_like, sort_and_page
from apillon_mcp.emulator.records import (
    Bucket,
    File,
    FileStatus,
    FileUpload,
    RecordStatus,
    SessionStatus,
    UploadSession,
)
from apillon_mcp.emulator.validation import UploadItem, UploadRequest, upload_path
from apillon_mcp.unixfs import file_cids, to_cid_v0


class StorageState:
    """Upload sessions, upload requests (by file uuid) and stored files of every bucket in `buckets`.

    A session's files become stored files when it ends, but only those whose bytes were PUT to their signed URL:
    the others are left out, as the backend leaves out requests whose S3 object does not exist. Stored files
    move UPLOADED_TO_S3 → UPLOADED_TO_IPFS → PINNED_TO_CRUST on the clock (`LifecycleDelays`), applied lazily.
    `signing_key` signs the upload URLs; a new `StorageState` (a reset) invalidates every URL issued before.
    """

    def __init__(self, clock: Clock, delays: LifecycleDelays, buckets: Mapping[str, Bucket]) -> None:
        self._clock = clock
        self._delays = delays
        self._buckets = buckets
        self.sessions: dict[str, UploadSession] = {}
        self.uploads: dict[str, FileUpload] = {}
        self._files: dict[str, File] = {}
        self.signing_key = secrets.token_bytes(32)

    @property
    def files(self) -> Mapping[str, File]:
        settle_files(self._files.values(), self._clock.now())
        return self._files

    def request_upload(
        self, bucket_uuid: str, request: UploadRequest, *, project_uuid: str
    ) -> tuple[UploadSession, list[FileUpload]]:
        """The session (a client-chosen uuid opens a new one or extends an open one) and one upload per item.

        A name already requested in the session (same path) keeps its upload, and so its `file_uuid`.
        """
        bucket = self._bucket(bucket_uuid, project_uuid)
        session = self._open_session(bucket, request.session_uuid or str(uuid4()))
        return session, [self._upload(session, item) for item in request.files]

    def upload_at(self, bucket_uuid: str, session_uuid: str, s3_key: str) -> FileUpload | None:
        """The upload whose signed URL points at this object, if any."""
        return next(
            (
                upload
                for upload in self.uploads.values()
                if (upload.bucket_uuid, upload.session_uuid, upload.s3_key) == (bucket_uuid, session_uuid, s3_key)
            ),
            None,
        )

    def end_session(self, session_uuid: str, *, project_uuid: str) -> None:
        """IN_PROGRESS, and a stored file (fileStatus 2) for every upload whose bytes arrived."""
        session = self.sessions.get(session_uuid)
        if session is None:
            raise EmulatedError.service(404, 40406004, "FILE_UPLOAD_SESSION_NOT_FOUND")
        check_access(session.project_uuid, project_uuid)
        if session.status != SessionStatus.CREATED:
            raise EmulatedError.service(400, 40006001, "FILE_UPLOAD_SESSION_ALREADY_ENDED")
        session.status = SessionStatus.IN_PROGRESS
        for upload in list(self.uploads.values()):
            if upload.session_uuid == session_uuid and upload.content is not None:
                self._store(upload, upload.content)

    def list_files(
        self, bucket_uuid: str, query: ListQuery, session_uuid: str | None, *, project_uuid: str
    ) -> tuple[list[File], int]:
        """(the requested page, the total number of matches) of the bucket's stored files."""
        self._bucket(bucket_uuid, project_uuid)
        rows = [
            file
            for file in self.files.values()
            if file.bucket_uuid == bucket_uuid
            and (session_uuid is None or file.session_uuid == session_uuid)
            and name_like(file.name, query.search)
            and (file.status == query.status if query.status is not None else file.status != RecordStatus.DELETED)
        ]
        return sort_and_page(rows, query, FILE_COLUMNS), len(rows)

    def file_details(self, file_id: str, *, project_uuid: str) -> File | FileUpload:
        """A stored file by uuid, published CID (v0 or v1) or internal id; else the upload request by uuid.

        The bucket in the URL plays no part, as in the backend.
        """
        found: File | FileUpload | None = self._find_file(file_id) or self.uploads.get(file_id)
        if found is None:
            raise EmulatedError.service(404, 40406005, "FILE_DOES_NOT_EXISTS")
        check_access(found.project_uuid, project_uuid)
        return found

    def content_by_cid(self, cid: str) -> bytes | None:
        """The bytes of a stored file with this CID (v0 or v1), whatever its fileStatus."""
        try:
            cid_v0 = to_cid_v0(cid)
        except ValueError:
            return None
        return next((file.content for file in self._files.values() if file.cid_v0 == cid_v0), None)

    def store_file(
        self, bucket_uuid: str, name: str, content: bytes, *, path: str | None = None, content_type: str | None = None
    ) -> File:
        """A file exactly as an ended one-file upload session leaves it (fileStatus 2, then on the clock)."""
        bucket = self._buckets.get(bucket_uuid)
        if bucket is None:
            raise ValueError(f"no bucket {bucket_uuid!r}")
        session = self._open_session(bucket, str(uuid4()))
        session.status = SessionStatus.IN_PROGRESS
        upload = self._upload(session, UploadItem(name, content_type, upload_path(path)))
        upload.content = content
        return self._store(upload, content)

    def restore(
        self,
        sessions: Iterable[UploadSession],
        uploads: Iterable[FileUpload],
        files: Iterable[File],
        signing_key: bytes,
    ) -> None:
        """Replace every session, upload request and stored file, and the key that signs upload URLs."""
        self.sessions = {session.session_uuid: session for session in sessions}
        self.uploads = {upload.file_uuid: upload for upload in uploads}
        self._files = {file.file_uuid: file for file in files}
        self.signing_key = signing_key

    def _bucket(self, bucket_uuid: str, project_uuid: str) -> Bucket:
        bucket = self._buckets.get(bucket_uuid)
        if bucket is None:
            raise EmulatedError.service(404, 40406002, "BUCKET_NOT_FOUND")
        check_access(bucket.project_uuid, project_uuid)
        return bucket

    def _open_session(self, bucket: Bucket, session_uuid: str) -> UploadSession:
        session = self.sessions.get(session_uuid)
        if session is None:
            session = UploadSession(
                session_uuid, bucket.bucket_uuid, bucket.project_uuid, SessionStatus.CREATED, self._clock.now()
            )
            self.sessions[session_uuid] = session
        elif session.bucket_uuid != bucket.bucket_uuid:
            raise EmulatedError.service(400, 42206018, "SESSION_UUID_BELONGS_TO_OTHER_BUCKET")
        elif session.status != SessionStatus.CREATED:
            raise EmulatedError.service(400, 40006001, "FILE_UPLOAD_SESSION_ALREADY_ENDED")
        return session

    def _upload(self, session: UploadSession, item: UploadItem) -> FileUpload:
        existing = self.upload_at(session.bucket_uuid, session.session_uuid, f"{item.path or ''}{item.name}")
        if existing is not None:
            return existing
        now = self._clock.now()
        upload = FileUpload(
            file_uuid=str(uuid4()),
            session_uuid=session.session_uuid,
            bucket_uuid=session.bucket_uuid,
            project_uuid=session.project_uuid,
            path=item.path,
            name=item.name,
            content_type=item.content_type,
            create_time=now,
            update_time=now,
        )
        self.uploads[upload.file_uuid] = upload
        return upload

    def _store(self, upload: FileUpload, content: bytes) -> File:
        now = self._clock.now()
        ipfs_due, pin_due = self._delays.schedule_file(now)
        cids = file_cids(content)
        file = File(
            id=len(self._files) + 1,
            file_uuid=upload.file_uuid,
            bucket_uuid=upload.bucket_uuid,
            project_uuid=upload.project_uuid,
            session_uuid=upload.session_uuid,
            path=upload.path,
            name=upload.name,
            content_type=upload.content_type,
            content=content,
            cid_v0=cids.v0,
            cid_v1=cids.v1,
            file_status=FileStatus.UPLOADED_TO_S3,
            status=RecordStatus.ACTIVE,
            create_time=now,
            update_time=now,
            ipfs_due=ipfs_due,
            pin_due=pin_due,
        )
        self._files[file.file_uuid] = file
        return file

    def _find_file(self, file_id: str) -> File | None:
        files = self.files
        if file_id in files:
            return files[file_id]
        for file in files.values():
            if (file.published and file_id in (file.cid_v0, file.cid_v1)) or str(file.id) == file_id:
                return file
        return None


def settle_files(files: Iterable[File], now: datetime) -> None:
    """Apply the emulated IPFS upload and Crust pinning of every file due at or before `now`."""
    for file in files:
        if file.file_status == FileStatus.UPLOADED_TO_S3 and file.ipfs_due <= now:
            file.file_status, file.update_time = FileStatus.UPLOADED_TO_IPFS, file.ipfs_due
        if file.file_status == FileStatus.UPLOADED_TO_IPFS and file.pin_due <= now:
            file.file_status, file.update_time = FileStatus.PINNED_TO_CRUST, file.pin_due
