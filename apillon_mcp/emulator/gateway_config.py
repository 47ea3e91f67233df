"""How the emulated gateway runs scripts (read at every call, so a test may change it on a live state)."""

from dataclasses import dataclass

from apillon_mcp.runner import DEFAULT_MEMORY_MB

API_GATEWAY_LIMIT_SECONDS = 29


@dataclass
class GatewayConfig:
    """`timeout_seconds` (real time): how long a call may wait for the script's reply before the gateway answers
    504, as API Gateway does after 29 s; `node_command`: the Node.js executable, looked up on PATH;
    `memory_mb`: the heap limit of each script's process."""

    timeout_seconds: float = API_GATEWAY_LIMIT_SECONDS
    node_command: str = "node"
    memory_mb: int = DEFAULT_MEMORY_MB
