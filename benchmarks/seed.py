"""Fixed emulator data, written straight into the state: functions, jobs in every status, a script to deploy."""

from __future__ import annotations

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, JOB_PRICE, CloudFunction, EmulatorState, Job
from apillon_mcp.unixfs import file_cids

# Replies to each gateway call with a small JSON quote for the symbol in the request body.
QUOTE_SCRIPT = """\
const PROXIES = ["wss://websocket-proxy-1.prod.gke.acurast.com/", "wss://websocket-proxy-2.prod.gke.acurast.com/"];
_STD_.ws.open(PROXIES, () => {
  _STD_.ws.registerPayloadHandler(({ sender, payload }) => {
    const request = JSON.parse(Buffer.from(payload, "hex").toString("utf8"));
    const symbol = (request.body && request.body.symbol) || "ETH";
    const quote = JSON.stringify({ symbol, price: 3120.55, currency: "USD" });
    _STD_.ws.send(sender, Buffer.from(quote, "utf8").toString("hex"));
  });
}, (error) => console.error(error));
"""


def script_cid(label: str) -> str:
    """A valid CIDv0, distinct per label (the emulator creates jobs from any CID; it runs none of these)."""
    return file_cids(f"// script {label}\n".encode()).v0


def add_functions(state: EmulatorState, count: int, *, prefix: str = "price-oracle") -> list[CloudFunction]:
    """`count` functions with fixed-width names, so that result sizes do not grow with the count's digits."""
    return [
        state.create_function(f"{prefix}-{n:06d}", "Fetches a price feed and answers it through the gateway.")
        for n in range(1, count + 1)
    ]


def add_jobs(state: EmulatorState, function_uuid: str, count: int, *, start: int = 1) -> list[Job]:
    """`count` DEPLOYING jobs of the function, paid for by topping up the project's credits first."""
    balance = state.credit_balance(DEFAULT_PROJECT_UUID)
    state.set_credit_balance(DEFAULT_PROJECT_UUID, balance + count * JOB_PRICE)
    return [
        state.create_job(function_uuid, f"release-{n:06d}", script_cid(f"{function_uuid}/{n}"))
        for n in range(start, start + count)
    ]


def add_jobs_in_every_status(state: EmulatorState, function_uuid: str, count: int) -> list[Job]:
    """`count` jobs (at least 4): one MATCHED serving the gateway, superseded INACTIVE ones, DEPLOYED, DEPLOYING.

    Moves the emulator clock: the first quarter settles (one matches, the others are superseded), the second
    quarter gets its deploy confirmed, the rest stays DEPLOYING.
    """
    quarter = max(1, count // 4)
    settled = add_jobs(state, function_uuid, quarter)
    state.clock.advance(state.delays.deploy_seconds + state.delays.match_seconds + 1)
    confirmed = add_jobs(state, function_uuid, quarter, start=quarter + 1)
    state.clock.advance(state.delays.deploy_seconds + 1)
    pending = add_jobs(state, function_uuid, count - 2 * quarter, start=2 * quarter + 1)
    return [*settled, *confirmed, *pending]
