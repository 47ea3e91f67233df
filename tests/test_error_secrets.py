"""No error of any tool ever repeats a value given for variables, headers, tokens or script text.

The tools are read from `tools/list`, so a tool added later is covered as soon as it takes such an argument. Each
call mixes well-formed and broken arguments (missing required ones, wrong types, junk, JSON in a string), and every
value of a sensitive argument is a recognisable secret.
"""

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult

from apillon_mcp.emulator import EmulatorState, ManualClock
from apillon_mcp.server import build_sandbox_server

from support import text

pytestmark = pytest.mark.secrets

EXAMPLES_PER_TOOL = 120
SENSITIVE = re.compile(r"variables|env|headers|token|secret|password|^script$|script_source")
"""Arguments whose values are secrets or private text; any value given for them, at any depth, is a secret here."""
EXPECTED_SENSITIVE = {
    ("set_cloud_function_environment", "variables"),
    ("set_cloud_function_environment", "confirmation_token"),
    ("delete_cloud_function_job", "confirmation_token"),
    ("invoke_cloud_function", "headers"),
    ("deploy_cloud_function_script", "script_source"),
}
SECRETS = st.from_regex(r"S3CR3T[A-Za-z0-9]{12}", fullmatch=True)
NAMES = st.sampled_from(["API_TOKEN", "x-api-key", "Authorization", "host", "bad name", "", "A" * 300])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))


def secret_value() -> st.SearchStrategy[Any]:
    """A secret in every shape a caller could send one: as text, in an object, in a list, as JSON in a string."""
    objects = st.dictionaries(NAMES, SECRETS, min_size=1, max_size=3)
    return st.one_of(
        SECRETS,
        objects,
        objects.map(json.dumps),
        st.lists(st.fixed_dictionaries({"key": NAMES, "value": SECRETS}), min_size=1, max_size=3),
        st.lists(SECRETS, min_size=1, max_size=3),
        st.dictionaries(NAMES, st.lists(SECRETS, min_size=1, max_size=2), min_size=1, max_size=2),
        st.dictionaries(NAMES, st.dictionaries(NAMES, SECRETS, min_size=1, max_size=2), min_size=1, max_size=2),
    )


def secrets_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {secret for item in value.values() for secret in secrets_in(item)}
    if isinstance(value, list):
        return {secret for item in value for secret in secrets_in(item)}
    if isinstance(value, str):
        return set(re.findall(r"S3CR3T[A-Za-z0-9]{12}", value))
    return set()


@dataclass
class Session:
    portal: BlockingPortal
    client: Client
    uuids: list[str]

    def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        return self.portal.call(partial(self.client.call_tool, tool, arguments))


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    emulator = EmulatorState(clock=ManualClock())
    emulator.set_credit_balance("5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85", 10**9)
    function = emulator.create_function("target")
    server = build_sandbox_server(emulator)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(Client(server)) as client:
        yield Session(portal, client, [function.function_uuid, "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85"])


def plain_value(schema: dict[str, Any], uuids: list[str]) -> st.SearchStrategy[Any]:
    """A value the schema allows, or junk."""
    if schema.get("format") == "uuid":
        valid: st.SearchStrategy[Any] = st.sampled_from(uuids)
    elif schema.get("type") == "integer":
        valid = st.integers(min_value=schema.get("minimum", 0), max_value=min(schema.get("maximum", 5), 5))
    elif schema.get("type") == "boolean":
        valid = st.booleans()
    elif schema.get("type") == "string" and "pattern" not in schema:
        valid = st.text(min_size=schema.get("minLength", 0), max_size=8)
    else:
        valid = SCALARS
    return st.one_of(valid, SCALARS)


def call_arguments(schema: dict[str, Any], uuids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    return st.fixed_dictionaries(
        {},
        optional={
            name: secret_value() if SENSITIVE.search(name) else plain_value(spec, uuids)
            for name, spec in properties.items()
        },
    )


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Captured]:
    handler, root = Captured(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def errors_without_secrets(session: Session, tool: str, schema: dict[str, Any]) -> int:
    """Calls `tool` with generated arguments; checks that no error repeats a secret given; counts the errors."""
    errors = 0

    @settings(
        max_examples=EXAMPLES_PER_TOOL,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(call_arguments(schema, session.uuids))
    def check(arguments: dict[str, Any]) -> None:
        nonlocal errors
        given_secrets = secrets_in([value for name, value in arguments.items() if SENSITIVE.search(name)])
        answer = session.call(tool, arguments)
        if answer.is_error:
            errors += 1
            shown = text(answer) + json.dumps(answer.structured_content or {})
            assert not [secret for secret in given_secrets if secret in shown], (tool, shown)

    check()
    return errors


def test_no_error_of_any_tool_repeats_a_secret_argument_value(session: Session, logs: Captured) -> None:
    listed = session.portal.call(session.client.list_tools).tools
    sensitive = {
        (tool.name, name)
        for tool in listed
        for name in tool.input_schema.get("properties", {})
        if SENSITIVE.search(name)
    }
    assert sensitive >= EXPECTED_SENSITIVE

    errors = sum(
        errors_without_secrets(session, tool.name, tool.input_schema)
        for tool in listed
        if any(name == tool.name for name, _ in sensitive)
    )

    assert errors > EXAMPLES_PER_TOOL  # the calls did reach the error paths
    logged = "\n".join(logs.lines)
    assert "rejected arguments" in logged
    assert not re.findall(r"S3CR3T[A-Za-z0-9]{12}", logged)
