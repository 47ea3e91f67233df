"""The sandbox database's tables: one per kind of row in `records`, plus `meta` (the sandbox-wide values).

Columns carry the records' field names. Times are microseconds since 1970 (UTC), statuses and roles their
integers, booleans 0/1, JSON values their text. `name_folded` is the lower-cased name that search and ordering use
(the backend's collation is case-insensitive). Tables are STRICT, so a value of the wrong type cannot be stored.

A page of a project's functions reads `functions_by_project` in creation order and stops after the page; their
count reads `functions_by_project_status` alone. With only the second index SQLite would sort every function of
the project for each page.
"""

APPLICATION_ID = 0x41504D43  # "APMC": marks the file as an apillon-mcp sandbox (PRAGMA application_id)
VERSION = 1
"""PRAGMA user_version of the schema below; a file with a higher one comes from a newer apillon-mcp."""
MINIMUM_SQLITE = (3, 37, 0)  # STRICT tables

_JOB_STATUSES = "1, 2, 3, 4, 9"
_RECORD_STATUSES = "1, 2, 3, 5, 7, 8, 9"

TABLES = f"""
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    clock_offset_us INTEGER NOT NULL CHECK (clock_offset_us >= 0),
    next_chain_job_id INTEGER NOT NULL CHECK (next_chain_job_id > 0),
    signing_key BLOB NOT NULL CHECK (length(signing_key) >= 16)
) STRICT;
CREATE TABLE projects (
    project_uuid TEXT PRIMARY KEY,
    credits INTEGER NOT NULL
) STRICT;
CREATE TABLE api_keys (
    key TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    project_uuid TEXT NOT NULL REFERENCES projects,
    roles TEXT NOT NULL
) STRICT;
CREATE TABLE buckets (
    bucket_uuid TEXT PRIMARY KEY,
    project_uuid TEXT NOT NULL REFERENCES projects,
    name TEXT NOT NULL,
    create_time INTEGER NOT NULL
) STRICT;
CREATE TABLE functions (
    id INTEGER PRIMARY KEY,
    function_uuid TEXT NOT NULL UNIQUE,
    project_uuid TEXT NOT NULL REFERENCES projects,
    bucket_uuid TEXT NOT NULL REFERENCES buckets,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    description TEXT,
    status INTEGER NOT NULL CHECK (status IN ({_RECORD_STATUSES})),
    create_time INTEGER NOT NULL,
    update_time INTEGER,
    active_job_id INTEGER,
    variables TEXT
) STRICT;
CREATE INDEX functions_by_project ON functions (project_uuid);
CREATE INDEX functions_by_project_status ON functions (project_uuid, status);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    job_uuid TEXT NOT NULL UNIQUE,
    project_uuid TEXT NOT NULL REFERENCES projects,
    function_uuid TEXT NOT NULL REFERENCES functions (function_uuid),
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    script_cid TEXT NOT NULL,
    slots INTEGER NOT NULL,
    job_status INTEGER NOT NULL CHECK (job_status IN ({_JOB_STATUSES})),
    status INTEGER NOT NULL CHECK (status IN ({_RECORD_STATUSES})),
    create_time INTEGER NOT NULL,
    update_time INTEGER,
    deploy_due INTEGER NOT NULL,
    match_due INTEGER NOT NULL,
    job_id INTEGER,
    deploy_done INTEGER NOT NULL CHECK (deploy_done IN (0, 1)),
    match_done INTEGER NOT NULL CHECK (match_done IN (0, 1))
) STRICT;
CREATE INDEX jobs_by_function ON jobs (function_uuid);
CREATE INDEX jobs_deploy_pending ON jobs (deploy_due) WHERE deploy_done = 0 AND status != 9;
CREATE INDEX jobs_match_pending ON jobs (match_due) WHERE match_done = 0 AND status != 9;
CREATE TABLE upload_sessions (
    session_uuid TEXT PRIMARY KEY,
    bucket_uuid TEXT NOT NULL REFERENCES buckets,
    project_uuid TEXT NOT NULL REFERENCES projects,
    status INTEGER NOT NULL CHECK (status IN (1, 2)),
    create_time INTEGER NOT NULL
) STRICT;
CREATE TABLE file_uploads (
    file_uuid TEXT PRIMARY KEY,
    session_uuid TEXT NOT NULL REFERENCES upload_sessions,
    bucket_uuid TEXT NOT NULL REFERENCES buckets,
    project_uuid TEXT NOT NULL REFERENCES projects,
    path TEXT,
    name TEXT NOT NULL,
    content_type TEXT,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    content BLOB,
    s3_key TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX file_uploads_by_object ON file_uploads (session_uuid, s3_key);
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    file_uuid TEXT NOT NULL UNIQUE,
    bucket_uuid TEXT NOT NULL REFERENCES buckets,
    project_uuid TEXT NOT NULL REFERENCES projects,
    session_uuid TEXT NOT NULL REFERENCES upload_sessions,
    path TEXT,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    content_type TEXT,
    content BLOB NOT NULL,
    cid_v0 TEXT NOT NULL,
    cid_v1 TEXT NOT NULL,
    file_status INTEGER NOT NULL CHECK (file_status IN (1, 2, 3, 4)),
    status INTEGER NOT NULL CHECK (status IN ({_RECORD_STATUSES})),
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    ipfs_due INTEGER NOT NULL,
    pin_due INTEGER NOT NULL
) STRICT;
CREATE INDEX files_by_bucket ON files (bucket_uuid);
CREATE INDEX files_by_cid_v0 ON files (cid_v0);
CREATE INDEX files_by_cid_v1 ON files (cid_v1);
CREATE INDEX files_ipfs_pending ON files (ipfs_due) WHERE file_status = 2;
CREATE INDEX files_pin_pending ON files (pin_due) WHERE file_status = 3;
CREATE TABLE faults (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    method TEXT,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    delay_seconds REAL NOT NULL,
    times INTEGER NOT NULL CHECK (times > 0)
) STRICT;
CREATE TABLE gateway_cache (
    function_uuid TEXT PRIMARY KEY REFERENCES functions (function_uuid),
    job_uuid TEXT NOT NULL REFERENCES jobs (job_uuid),
    expires INTEGER NOT NULL
) STRICT;
"""

CLEARED_BY_RESET = (
    "gateway_cache",
    "faults",
    "files",
    "file_uploads",
    "upload_sessions",
    "jobs",
    "functions",
    "buckets",
    "api_keys",
    "projects",
)
"""Every table but `meta`, children before their parents."""
