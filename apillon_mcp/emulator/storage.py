"""The emulated storage service (apillon-api.md §12): upload sessions, signed-URL uploads, stored files, CIDs.

No HTTP here: `storage_api` serves the endpoints and `s3` the signed upload URLs.
"""

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from uuid import uuid4

from apillon_mcp.emulator.auth import check_access
from apillon_mcp.emulator.clock import Clock
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.lifecycle import LifecycleDelays
from apillon_mcp.emulator.listing import FILE_COLUMNS, ListQuery, Where, order_and_page
from apillon_mcp.emulator.records import (
    Bucket,
    File,
    FileStatus,
    FileUpload,
    RecordStatus,
    SessionStatus,
    UploadItem,
    UploadRequest,
    UploadSession,
)
from apillon_mcp.emulator.tables import BUCKETS, FILE_UPLOADS, FILES, UPLOAD_SESSIONS, micros
from apillon_mcp.emulator.upload_paths import upload_path
from apillon_mcp.emulator.views import RowsView, Transaction
from apillon_mcp.unixfs import file_cids, to_cid_v0


class StorageState:
    """Upload sessions, upload requests (by file uuid) and stored files of every bucket; each method is one
    `transaction`.

    A session's files become stored files when it ends, but only those whose bytes were PUT to their signed URL:
    the others are left out, as the backend leaves out requests whose S3 object does not exist. Stored files
    move UPLOADED_TO_S3 → UPLOADED_TO_IPFS → PINNED_TO_CRUST on the clock (`LifecycleDelays`), applied lazily.
    `signing_key` signs the upload URLs; a reset replaces it, which invalidates every URL issued before.
    """

    def __init__(self, transaction: Transaction, clock: Clock, delays: LifecycleDelays) -> None:
        self._transaction = transaction
        self._clock = clock
        self._delays = delays
        self.sessions: Mapping[str, UploadSession] = RowsView(UPLOAD_SESSIONS, transaction)
        self.uploads: Mapping[str, FileUpload] = RowsView(FILE_UPLOADS, transaction)
        self.files: Mapping[str, File] = RowsView(FILES, transaction)

    @property
    def signing_key(self) -> bytes:
        with self._transaction() as db:
            key: bytes = db.execute("SELECT signing_key FROM meta").fetchone()[0]
            return key

    def request_upload(
        self, bucket_uuid: str, request: UploadRequest, *, project_uuid: str
    ) -> tuple[UploadSession, list[FileUpload]]:
        """The session (a client-chosen uuid opens a new one or extends an open one) and one upload per item.

        A name already requested in the session (same path) keeps its upload, and so its `file_uuid`.
        """
        with self._transaction() as db:
            bucket = _bucket(db, bucket_uuid, project_uuid)
            session = self._open_session(db, bucket, request.session_uuid or str(uuid4()))
            return session, [self._upload(db, session, item) for item in request.files]

    def upload_at(self, bucket_uuid: str, session_uuid: str, s3_key: str) -> FileUpload | None:
        """The upload whose signed URL points at this object, if any."""
        with self._transaction() as db:
            return _upload_at(db, bucket_uuid, session_uuid, s3_key)

    def put_object(self, bucket_uuid: str, session_uuid: str, s3_key: str, content: bytes) -> FileUpload | None:
        """Keep the bytes PUT to an upload's signed URL (the last PUT wins); None when no upload is there."""
        with self._transaction() as db:
            upload = _upload_at(db, bucket_uuid, session_uuid, s3_key)
            if upload is None:
                return None
            upload.content, upload.update_time = content, self._clock.now()
            FILE_UPLOADS.update(db, upload)
            return upload

    def end_session(self, session_uuid: str, *, project_uuid: str) -> None:
        """IN_PROGRESS, and a stored file (fileStatus 2) for every upload whose bytes arrived."""
        with self._transaction() as db:
            session = UPLOAD_SESSIONS.get(db, session_uuid)
            if session is None:
                raise EmulatedError.service(404, 40406004, "FILE_UPLOAD_SESSION_NOT_FOUND")
            check_access(session.project_uuid, project_uuid)
            if session.status != SessionStatus.CREATED:
                raise EmulatedError.service(400, 40006001, "FILE_UPLOAD_SESSION_ALREADY_ENDED")
            db.execute(
                f"UPDATE upload_sessions SET status = {SessionStatus.IN_PROGRESS} WHERE session_uuid = ?",
                (session_uuid,),
            )
            for upload in FILE_UPLOADS.select(
                db, "WHERE session_uuid = ? AND content IS NOT NULL ORDER BY rowid", (session_uuid,)
            ):
                assert upload.content is not None
                self._store(db, upload, upload.content)

    def list_files(
        self, bucket_uuid: str, query: ListQuery, session_uuid: str | None, *, project_uuid: str
    ) -> tuple[list[File], int]:
        """(the requested page, the total number of matches) of the bucket's stored files.

        As the backend lists them (apillon-api.md, Corrections 5): only live files (record status 5, whatever
        `status` asks), newest first unless `orderBy` says otherwise, and a search over the path and name, or the
        file's published CID.
        """
        where = Where().add("bucket_uuid = ?", bucket_uuid).add(f"status = {RecordStatus.ACTIVE}")
        if session_uuid is not None:
            where.add("session_uuid = ?", session_uuid)
        where.search(
            "(coalesce(lower(path), '') || name_folded)",
            query.search,
            or_equal=(FILE_COLUMNS["cid"], FILE_COLUMNS["cidv1"]),
        )
        order, page = order_and_page(query, FILE_COLUMNS, default="create_time DESC, id DESC")
        with self._transaction() as db:
            _bucket(db, bucket_uuid, project_uuid)
            rows = FILES.select(db, f"WHERE {where.sql} {order}", [*where.parameters, *page])
            (total,) = db.execute(f"SELECT count(*) FROM files WHERE {where.sql}", where.parameters).fetchone()
            return rows, total

    def file_details(self, file_id: str, *, project_uuid: str) -> File | FileUpload:
        """A stored file by uuid, published CID (v0 or v1) or internal id; else the upload request by uuid.

        The bucket in the URL plays no part, as in the backend.
        """
        with self._transaction() as db:
            found: File | FileUpload | None = _find_file(db, file_id) or FILE_UPLOADS.get(db, file_id)
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
        with self._transaction() as db:
            found = db.execute("SELECT content FROM files WHERE cid_v0 = ? ORDER BY id LIMIT 1", (cid_v0,)).fetchone()
            return None if found is None else bytes(found[0])

    def store_file(
        self, bucket_uuid: str, name: str, content: bytes, *, path: str | None = None, content_type: str | None = None
    ) -> File:
        """A file exactly as an ended one-file upload session leaves it (fileStatus 2, then on the clock)."""
        with self._transaction() as db:
            bucket = BUCKETS.get(db, bucket_uuid)
            if bucket is None:
                raise ValueError(f"no bucket {bucket_uuid!r}")
            session = self._open_session(db, bucket, str(uuid4()))
            db.execute(
                f"UPDATE upload_sessions SET status = {SessionStatus.IN_PROGRESS} WHERE session_uuid = ?",
                (session.session_uuid,),
            )
            upload = self._upload(db, session, UploadItem(name, content_type, upload_path(path)))
            upload.content = content
            FILE_UPLOADS.update(db, upload)
            return self._store(db, upload, content)

    def _open_session(self, db: sqlite3.Connection, bucket: Bucket, session_uuid: str) -> UploadSession:
        session = UPLOAD_SESSIONS.get(db, session_uuid)
        if session is None:
            session = UploadSession(
                session_uuid, bucket.bucket_uuid, bucket.project_uuid, SessionStatus.CREATED, self._clock.now()
            )
            UPLOAD_SESSIONS.insert(db, session)
        elif session.bucket_uuid != bucket.bucket_uuid:
            raise EmulatedError.service(400, 42206018, "SESSION_UUID_BELONGS_TO_OTHER_BUCKET")
        elif session.status != SessionStatus.CREATED:
            raise EmulatedError.service(400, 40006001, "FILE_UPLOAD_SESSION_ALREADY_ENDED")
        return session

    def _upload(self, db: sqlite3.Connection, session: UploadSession, item: UploadItem) -> FileUpload:
        s3_key = f"{item.path or ''}{item.name}"
        existing = _upload_at(db, session.bucket_uuid, session.session_uuid, s3_key)
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
        FILE_UPLOADS.insert(db, upload)
        return upload

    def _store(self, db: sqlite3.Connection, upload: FileUpload, content: bytes) -> File:
        now = self._clock.now()
        ipfs_due, pin_due = self._delays.schedule_file(now)
        cids = file_cids(content)
        file = File(
            id=FILES.next_id(db),
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
        FILES.insert(db, file)
        return file


def settle_files(db: sqlite3.Connection, now: datetime) -> None:
    """Apply the emulated IPFS upload and Crust pinning of every file due at or before `now`."""
    stamp = micros(now)
    db.execute(
        f"""UPDATE files SET file_status = {FileStatus.UPLOADED_TO_IPFS}, update_time = ipfs_due
        WHERE file_status = {FileStatus.UPLOADED_TO_S3} AND ipfs_due <= ?""",
        (stamp,),
    )
    db.execute(
        f"""UPDATE files SET file_status = {FileStatus.PINNED_TO_CRUST}, update_time = pin_due
        WHERE file_status = {FileStatus.UPLOADED_TO_IPFS} AND pin_due <= ?""",
        (stamp,),
    )


def _bucket(db: sqlite3.Connection, bucket_uuid: str, project_uuid: str) -> Bucket:
    bucket = BUCKETS.get(db, bucket_uuid)
    if bucket is None:
        raise EmulatedError.service(404, 40406002, "BUCKET_NOT_FOUND")
    check_access(bucket.project_uuid, project_uuid)
    return bucket


def _upload_at(db: sqlite3.Connection, bucket_uuid: str, session_uuid: str, s3_key: str) -> FileUpload | None:
    where = "session_uuid = ? AND s3_key = ? AND bucket_uuid = ?"
    return FILE_UPLOADS.first(db, where, (session_uuid, s3_key, bucket_uuid))


def _find_file(db: sqlite3.Connection, file_id: str) -> File | None:
    by_uuid = FILES.get(db, file_id)
    if by_uuid is not None:
        return by_uuid
    published = f"file_status >= {FileStatus.UPLOADED_TO_IPFS}"
    by_cid = FILES.first(db, f"{published} AND (cid_v0 = ? OR cid_v1 = ?) ORDER BY id", (file_id, file_id))
    if by_cid is not None:
        return by_cid
    if file_id.isascii() and file_id.isdigit() and len(file_id) < 19 and str(int(file_id)) == file_id:
        return FILES.first(db, "id = ?", (int(file_id),))
    return None
