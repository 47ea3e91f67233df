import pytest
from mcp import Client

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState

from support import data, text

pytestmark = pytest.mark.anyio


async def test_credit_balance_says_how_many_jobs_it_pays_for(mcp: Client, emulator: EmulatorState) -> None:
    emulator.set_credit_balance(DEFAULT_PROJECT_UUID, 250)

    answer = await mcp.call_tool("get_credit_balance", {})

    assert data(answer) == {"balance": 250, "jobs_affordable": 2, "spending_cap": None, "sandbox": True}
    assert "250 credits, enough for 2 new jobs at 100 credits each" in text(answer)
