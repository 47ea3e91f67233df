"""A refused argument is explained in the tool's own words: which one, what is wrong, what a valid value looks like
and where to get one. Never pydantic's dump, never a value the caller sent."""

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any, Literal

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from apillon_mcp.emulator import EmulatorState
from apillon_mcp.tools.annotations import CREATE, READ
from apillon_mcp.tools.spec import ToolSpec

from support import text

pytestmark = pytest.mark.anyio

RAW_LEAVES = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
DAG_CBOR = "bafyreicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"
BASE36_DAG_PB = "k2jmtxt4nv2kx0qz1ncwpjwzdixb27xsgqxk7kgho4nnmjceustvi80e"
SECRET = "ghp_S3cretValue-9Zq"
PYDANTIC_WORDS = ("validation error", "Arguments", "[type=", "input_value", "input_type", "pydantic", "http")


def refusal(answer: Any, tool: str) -> str:
    """The explanation of a refused call, checked to be free of pydantic's wording."""
    assert answer.is_error
    message = text(answer)
    prefix = f"Error executing tool {tool}: "
    assert message.startswith(prefix), message
    assert not [word for word in PYDANTIC_WORDS if word in message], message
    return message.removeprefix(prefix)


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            "get_cloud_function",
            {"function_uuid": "u-1"},
            "function_uuid must be a UUID (8-4-4-4-12 hex digits); list_cloud_functions gives them.",
        ),
        (
            "delete_cloud_function_job",
            {"job_uuid": "job-1"},
            "job_uuid must be a UUID (8-4-4-4-12 hex digits), or left out; get_cloud_function lists a function's jobs "
            "with their "
            "uuids. Nothing was changed.",
        ),
        (
            "list_cloud_functions",
            {"page": 0, "limit": "many"},
            "page must be a whole number from 1 to 100000. limit must be a whole number from 1 to 100.",
        ),
        (
            "get_cloud_function",
            {"function_uuid": "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85", "jobs_limit": 2.5},
            "jobs_limit must be a whole number from 1 to 100.",
        ),
        ("create_cloud_function", {"name": ""}, "name must be text of 1 to 255 characters. Nothing was changed."),
        (
            "create_cloud_function",
            {"name": "ok", "description": "d" * 256},
            "description must be text of 1 to 255 characters, or left out. Nothing was changed.",
        ),
        (
            "create_cloud_function",
            {},
            "name is required: text of 1 to 255 characters. Nothing was changed.",
        ),
        (
            "list_cloud_functions",
            {"search": None, "page": None},
            "page must be a whole number from 1 to 100000.",
        ),
        (
            "deploy_cloud_function_script",
            {"function_uuid": "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85", "job_name": "j", "wait": "maybe"},
            "wait must be true or false. Nothing was changed.",
        ),
        (
            "delete_cloud_function_job",
            {"job_uuid": "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85", "confirmation_token": ["t"]},
            "confirmation_token must be the token a 'Confirmation required' answer gave, unchanged, or left out; "
            "call without it to get one. Nothing was changed.",
        ),
        (
            "create_cloud_function_job",
            {"function_uuid": "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85", "name": "v1"},
            "script_cid is required: the IPFS CID of the script file, Qm… or bafybei… (dag-pb); "
            "deploy_cloud_function_script uploads a script and computes its CID for you. Nothing was changed.",
        ),
    ],
)
async def test_each_refused_argument_gets_one_sentence_in_the_tools_words(
    mcp: Client, emulator: EmulatorState, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    answer = await mcp.call_tool(tool, arguments)

    assert refusal(answer, tool) == expected
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("script_cid", "reason"),
    [
        (RAW_LEAVES, "is a raw-leaves CID (bafkrei…"),
        (DAG_CBOR, "is the CID of dag-cbor data, not of a file"),
        (BASE36_DAG_PB, "is a dag-pb CID in another form than Apillon takes"),
        ("not-a-cid", "must be the IPFS CID of the script file"),
        (12, "must be the IPFS CID of the script file"),
    ],
)
async def test_a_cid_apillon_cannot_use_gets_the_reason(
    mcp: Client, emulator: EmulatorState, script_cid: object, reason: str
) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "create_cloud_function_job", {"function_uuid": function.function_uuid, "name": "v1", "script_cid": script_cid}
    )

    message = refusal(answer, "create_cloud_function_job")
    assert message.startswith(f"script_cid {reason}")
    assert "Qm…" in message and "bafybei…" in message
    assert str(script_cid) not in message
    assert emulator.requests == [] and emulator.jobs == {}


async def test_a_raw_leaves_cid_is_explained_as_such(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "create_cloud_function_job", {"function_uuid": function.function_uuid, "name": "v1", "script_cid": RAW_LEAVES}
    )

    assert refusal(answer, "create_cloud_function_job") == (
        "script_cid is a raw-leaves CID (bafkrei…, what `ipfs add --cid-version 1` or `--raw-leaves` prints): "
        "Apillon needs the dag-pb CID of the script file, Qm… or bafybei… (what a plain `ipfs add` prints). "
        "deploy_cloud_function_script uploads a script and computes its CID for you. Nothing was changed."
    )


async def test_a_missing_argument_never_repeats_the_secret_values_given_with_it(
    mcp: Client, emulator: EmulatorState
) -> None:
    variables = await mcp.call_tool("set_cloud_function_environment", {"variables": {"API_TOKEN": SECRET}})
    headers = await mcp.call_tool("invoke_cloud_function", {"headers": {"authorization": f"Bearer {SECRET}"}})
    script = await mcp.call_tool("deploy_cloud_function_script", {"job_name": "j", "script_source": SECRET})

    for tool, answer in [
        ("set_cloud_function_environment", variables),
        ("invoke_cloud_function", headers),
        ("deploy_cloud_function_script", script),
    ]:
        message = refusal(answer, tool)
        assert message.startswith("function_uuid is required: a UUID"), message
        assert SECRET not in message
    assert emulator.requests == []


async def test_every_refused_argument_is_named_in_the_order_of_the_schema(mcp: Client) -> None:
    answer = await mcp.call_tool(
        "deploy_cloud_function_script",
        {"timeout_seconds": -1, "slots": 11, "job_name": "", "function_uuid": "x"},
    )

    message = refusal(answer, "deploy_cloud_function_script")
    named = [sentence.split(" ", 1)[0] for sentence in message.removesuffix(" Nothing was changed.").split(". ")]
    assert named == ["function_uuid", "job_name", "slots", "timeout_seconds"]


async def test_an_argument_the_tool_does_not_take_is_ignored_with_a_note(mcp: Client, emulator: EmulatorState) -> None:
    for n in range(3):
        emulator.create_function(f"fn{n}")

    answer = await mcp.call_tool("list_cloud_functions", {"limt": 1})

    assert not answer.is_error
    assert len(answer.structured_content["functions"]) == 3
    assert text(answer).endswith(
        'Ignored the argument "limt", which list_cloud_functions does not take (did you mean limit?); its arguments '
        "are search, page, limit."
    )


async def test_a_note_on_ignored_arguments_follows_an_error_too_and_never_quotes_their_values(mcp: Client) -> None:
    answer = await mcp.call_tool("get_cloud_function", {"function_uuid": "x", "API_TOKEN": SECRET, "x" * 300: 1})

    message = refusal(answer, "get_cloud_function")
    assert message.splitlines()[1].startswith('Ignored the arguments "API_TOKEN", "xxxxx')
    assert "…" in message and "x" * 300 not in message and SECRET not in message


async def test_a_tool_without_arguments_says_so_when_given_some(mcp: Client) -> None:
    answer = await mcp.call_tool("get_credit_balance", {"random_string": "dummy"})

    assert not answer.is_error
    assert text(answer).endswith('Ignored the argument "random_string": get_credit_balance takes no arguments.')


class Point(BaseModel):
    x: Annotated[int, Field(ge=0, le=9)]


async def sample(
    mode: Annotated[Literal["fast", "safe"], Field(description="How.")],
    ratio: Annotated[float, Field(gt=0, lt=1, description="Share.")] = 0.5,
    tags: Annotated[list[Annotated[str, Field(max_length=8)]] | None, Field(max_length=3, description="Tags.")] = None,
    point: Annotated[Point | None, Field(description="Where.")] = None,
    labels: Annotated[dict[str, int] | None, Field(description="Counts.")] = None,
    when: Annotated[datetime | None, Field(description="When.")] = None,
) -> str:
    """A tool with an argument of each kind the schema can describe."""
    return "ran"


@pytest.fixture
async def sample_client() -> AsyncGenerator[Client, None]:
    spec = ToolSpec(sample, "Sample", READ, needs=())
    async with Client(MCPServer("sample", tools=[spec.build()])) as client:
        yield client


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, 'mode is required: one of "fast", "safe".'),
        ({"mode": "slow"}, 'mode must be one of "fast", "safe".'),
        ({"mode": "fast", "ratio": 1}, "ratio must be a number greater than 0 and less than 1."),
        (
            {"mode": "fast", "tags": ["a", "much too long"]},
            "tags: item 2 is too long; tags must be a JSON list of at most 3 items, each text of at most 8 "
            "characters, or left out.",
        ),
        (
            {"mode": "fast", "point": {"x": 10}},
            "point: field x is too large; point must be a JSON object with the fields x, or left out.",
        ),
        (
            {"mode": "fast", "labels": {SECRET: "many"}},
            "labels: an entry must be a whole number; labels must be a JSON object whose values are each a whole "
            "number, or left out.",
        ),
        (
            {"mode": "fast", "when": "yesterday"},
            "when must be a date and time in ISO 8601 form, e.g. 2025-01-31T12:00:00Z, or left out.",
        ),
    ],
)
async def test_a_new_tool_gets_the_same_explanations_for_every_argument_type(
    sample_client: Client, arguments: dict[str, Any], expected: str
) -> None:
    answer = await sample_client.call_tool("sample", arguments)

    assert refusal(answer, "sample") == expected


async def test_a_write_tool_says_nothing_was_changed_and_a_read_tool_does_not(sample_client: Client) -> None:
    write = ToolSpec(sample, "Sample", CREATE, needs=())
    async with Client(MCPServer("write", tools=[write.build()])) as client:
        written = await client.call_tool("sample", {})

    assert refusal(written, "sample").endswith("Nothing was changed.")
    assert not refusal(await sample_client.call_tool("sample", {}), "sample").endswith("Nothing was changed.")
