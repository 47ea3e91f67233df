"""The tool surface the design fixes: names, arguments, annotations, schemas, instructions."""

import json
from typing import Any

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

# DESIGN.md's table: tool -> (arguments, read_only, destructive).
EXPECTED: dict[str, tuple[set[str], bool, bool]] = {
    "list_cloud_functions": ({"search", "page", "limit"}, True, False),
    "get_cloud_function": ({"function_uuid", "jobs_page", "jobs_limit"}, True, False),
    "create_cloud_function": ({"name", "description"}, False, False),
    "create_cloud_function_job": (
        {"function_uuid", "name", "script_cid", "slots", "wait"},
        False,
        False,
    ),
    "set_cloud_function_environment": ({"function_uuid", "variables", "confirmation_token"}, False, True),
    "delete_cloud_function_job": ({"job_uuid", "job_uuids", "confirmation_token"}, False, True),
    "get_credit_balance": (set(), True, False),
    "deploy_cloud_function_script": (
        {
            "function_uuid",
            "job_name",
            "script_source",
            "script_path",
            "slots",
            "wait",
            "timeout_seconds",
            "smoke_test",
            "deploy_despite_problems",
        },
        False,
        False,
    ),
    "invoke_cloud_function": ({"function_uuid", "body", "path", "headers"}, False, False),
    "test_cloud_function_script": (
        {"script_source", "script_path", "body", "path", "headers", "variables", "timeout_seconds"},
        True,
        False,
    ),
}


async def tools(mcp: Client) -> dict[str, Any]:
    return {tool.name: tool for tool in (await mcp.list_tools()).tools}


async def test_the_tools_are_exactly_the_designed_ones_with_their_arguments(mcp: Client) -> None:
    listed = await tools(mcp)

    assert set(listed) == set(EXPECTED)
    for name, (arguments, _, _) in EXPECTED.items():
        assert set(listed[name].input_schema.get("properties", {})) == arguments, name


async def test_every_tool_sets_a_title_and_all_four_hints(mcp: Client) -> None:
    for name, tool in (await tools(mcp)).items():
        _, read_only, destructive = EXPECTED[name]
        hints = tool.annotations
        assert tool.title, name
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint) == (read_only, destructive), name
        assert hints.idempotent_hint is not None, name
        assert hints.open_world_hint is True, name


async def test_every_argument_is_described_and_every_tool_has_an_output_schema(mcp: Client) -> None:
    for name, tool in (await tools(mcp)).items():
        assert tool.description and tool.description.strip(), name
        for argument, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{name}.{argument}"
        assert tool.output_schema is not None and tool.output_schema.get("type") == "object", name


async def test_uuid_arguments_are_declared_as_uuids(mcp: Client) -> None:
    for name, tool in (await tools(mcp)).items():
        for argument, schema in tool.input_schema.get("properties", {}).items():
            if argument.endswith("_uuid"):
                assert schema.get("format") == "uuid", f"{name}.{argument}"


async def test_numbers_and_lengths_are_bounded_in_the_schema(mcp: Client) -> None:
    listed = await tools(mcp)
    slots = listed["create_cloud_function_job"].input_schema["properties"]["slots"]
    limit = listed["list_cloud_functions"].input_schema["properties"]["limit"]
    name = listed["create_cloud_function"].input_schema["properties"]["name"]

    assert (slots["minimum"], slots["maximum"], slots["default"]) == (1, 10, 1)
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 100, 20)
    assert (name["minLength"], name["maxLength"]) == (1, 255)


async def test_the_server_explains_how_functions_jobs_and_the_gateway_fit(mcp: Client) -> None:
    instructions = mcp.instructions or ""

    assert "gateway" in instructions and "MATCHED" in instructions and "credits" in instructions
    assert len(instructions) < 1200


async def test_the_script_contract_is_a_readable_markdown_resource(mcp: Client) -> None:
    listed = {str(resource.uri): resource for resource in (await mcp.list_resources()).resources}
    contract = listed["apillon://docs/script-contract"]

    read = await mcp.read_resource("apillon://docs/script-contract")

    assert contract.mime_type == "text/markdown"
    (content,) = read.contents
    body = getattr(content, "text", "")
    assert "registerPayloadHandler" in body and "_STD_.env" in body and "29 seconds" in body
    deploy = next(t for t in (await mcp.list_tools()).tools if t.name == "deploy_cloud_function_script")
    assert "apillon://docs/script-contract" in (deploy.description or "")


async def test_output_schemas_are_compact_like_input_schemas(mcp: Client) -> None:
    """No `title` (the field name again), no `default: null`: the tool list is read on every turn."""
    listed = (await mcp.list_tools()).tools
    schemas = json.dumps([tool.output_schema for tool in listed])

    assert all(tool.output_schema for tool in listed)
    assert '"title"' not in schemas and '"default": null' not in schemas
