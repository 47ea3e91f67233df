"""A separate process for the sharing tests: creates functions in a sandbox file through the emulator's HTTP API.

Usage: python sandbox_writer.py STATE_FILE PREFIX COUNT. It opens the sandbox, prints "ready", waits for a line on
stdin (so that several writers start together), creates COUNT functions named PREFIX-<n>, one request each, then
prints a JSON line: how many were answered 201 and the seconds it took.
"""

import json
import sys
import time
from pathlib import Path

import anyio
import httpx2

from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, create_emulator, open_state


async def write(path: Path, prefix: str, count: int) -> None:
    state = open_state(path)
    transport = httpx2.ASGITransport(app=create_emulator(state))
    async with httpx2.AsyncClient(
        transport=transport, base_url="http://emulator", auth=(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    ) as http:
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.perf_counter()
        created = 0
        for n in range(count):
            response = await http.post("/cloud-functions", json={"name": f"{prefix}-{n}"})
            created += response.status_code == 201
        print(json.dumps({"created": created, "seconds": time.perf_counter() - started}), flush=True)
    state.close()


if __name__ == "__main__":
    anyio.run(write, Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
