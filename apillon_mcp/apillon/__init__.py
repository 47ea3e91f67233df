"""The Apillon REST API: client, wire models and errors. Knows nothing of MCP."""

from apillon_mcp.apillon.client import DEFAULT_API_URL, ApillonClient, Connect, new_http_client, open_client
from apillon_mcp.apillon.errors import (
    ApillonAPIError,
    ApillonAuthError,
    ApillonBadResponse,
    ApillonError,
    ApillonForbidden,
    ApillonNotFound,
    ApillonServerError,
    ApillonUnreachable,
    ApillonValidationError,
    FieldError,
)
from apillon_mcp.apillon.models import CloudFunction, FileStatus, GatewayReply, Job, JobStatus, Page, StoredFile

__all__ = [
    "DEFAULT_API_URL",
    "ApillonAPIError",
    "ApillonAuthError",
    "ApillonBadResponse",
    "ApillonClient",
    "ApillonError",
    "ApillonForbidden",
    "ApillonNotFound",
    "ApillonServerError",
    "ApillonUnreachable",
    "ApillonValidationError",
    "CloudFunction",
    "Connect",
    "FieldError",
    "FileStatus",
    "GatewayReply",
    "Job",
    "JobStatus",
    "Page",
    "StoredFile",
    "new_http_client",
    "open_client",
]
