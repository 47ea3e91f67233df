"""The MCP surface: one module per API area, each with a `register` function."""

from apillon_mcp.context import ApillonServer
from apillon_mcp.tools import account, deploy, environment, functions, gateway, jobs


def register_all(mcp: ApillonServer) -> None:
    functions.register(mcp)
    jobs.register(mcp)
    deploy.register(mcp)
    environment.register(mcp)
    gateway.register(mcp)
    account.register(mcp)
