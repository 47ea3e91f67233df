"""An offline emulator of Apillon's Cloud Functions API, read from the backend's behaviour (Starlette, SQLite).

It covers the cloud-function endpoints, the storage upload flow a script needs (with real IPFS CIDs) and the
function gateway, which runs the uploaded script in Node.js. Its state is a SQLite database, in memory or in a
sandbox's file that several processes may share (`persistence`); `standalone` serves it over HTTP
(`apillon-mcp emulator`).
"""

from apillon_mcp.emulator.app import create_emulator
from apillon_mcp.emulator.clock import Clock, ManualClock, SystemClock
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.faults import ConnectionDropped
from apillon_mcp.emulator.gateway_config import GatewayConfig
from apillon_mcp.emulator.lifecycle import LifecycleDelays
from apillon_mcp.emulator.persistence import StateFileError, database_path, default_state_path, open_state
from apillon_mcp.emulator.records import CloudFunction, File, FileStatus, Job, JobStatus, RecordStatus, Role, Service
from apillon_mcp.emulator.state import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_UUID,
    JOB_PRICE,
    MAX_CREDITS,
    EmulatorState,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_PROJECT_UUID",
    "JOB_PRICE",
    "MAX_CREDITS",
    "Clock",
    "CloudFunction",
    "ConnectionDropped",
    "EmulatedError",
    "EmulatorState",
    "File",
    "FileStatus",
    "GatewayConfig",
    "Job",
    "JobStatus",
    "LifecycleDelays",
    "ManualClock",
    "RecordStatus",
    "Role",
    "Service",
    "StateFileError",
    "SystemClock",
    "create_emulator",
    "database_path",
    "default_state_path",
    "open_state",
]
