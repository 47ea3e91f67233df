from collections.abc import AsyncGenerator

import httpx2
import pytest
from starlette.applications import Starlette

from apillon_mcp.emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, EmulatorState, ManualClock, create_emulator
from apillon_mcp.emulator.gateway import script_pool

BASE_URL = "http://emulator"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> EmulatorState:
    return EmulatorState(clock=clock)


@pytest.fixture
async def app(state: EmulatorState) -> AsyncGenerator[Starlette, None]:
    """The emulator app; the script processes its gateway started stop with the test."""
    app = create_emulator(state, base_url=BASE_URL)
    async with script_pool(app).session():
        yield app


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """Raw HTTP to the emulator, no credentials."""
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
async def client(app: Starlette) -> AsyncGenerator[httpx2.AsyncClient, None]:
    """Raw HTTP to the emulator with the default key, which holds every role."""
    transport = httpx2.ASGITransport(app=app)
    auth = (DEFAULT_API_KEY, DEFAULT_API_SECRET)
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL, auth=auth) as http:
        yield http
