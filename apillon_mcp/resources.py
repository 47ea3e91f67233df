"""Documents the agent can read: how to write a deployable script."""

from __future__ import annotations

from importlib.resources import files

from apillon_mcp.context import ApillonServer

SCRIPT_CONTRACT_URI = "apillon://docs/script-contract"


def script_contract() -> str:
    return files("apillon_mcp").joinpath("docs/script-contract.md").read_text(encoding="utf-8")


def register(mcp: ApillonServer) -> None:
    mcp.resource(
        SCRIPT_CONTRACT_URI,
        name="script-contract",
        title="How to write a cloud function script",
        description="What a deployable script must do to answer its gateway, a working example, env vars, limits.",
        mime_type="text/markdown",
    )(script_contract)
