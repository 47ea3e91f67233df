"""An offline emulator of Apillon's Cloud Functions API, read from the backend's behaviour (Starlette, in memory)."""

from apillon_mcp.emulator.app import create_emulator
from apillon_mcp.emulator.clock import Clock, ManualClock, SystemClock
from apillon_mcp.emulator.errors import EmulatedError
from apillon_mcp.emulator.lifecycle import LifecycleDelays
from apillon_mcp.emulator.records import CloudFunction, Job, JobStatus, RecordStatus, Role, Service
from apillon_mcp.emulator.state import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_PROJECT_UUID,
    JOB_PRICE,
    EmulatorState,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEFAULT_PROJECT_UUID",
    "JOB_PRICE",
    "Clock",
    "CloudFunction",
    "EmulatedError",
    "EmulatorState",
    "Job",
    "JobStatus",
    "LifecycleDelays",
    "ManualClock",
    "RecordStatus",
    "Role",
    "Service",
    "SystemClock",
    "create_emulator",
]
