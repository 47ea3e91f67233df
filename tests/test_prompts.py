"""Workflow prompts shipped as files: listed with described arguments, rendered with the arguments given after
checking them, and offered only when the tools they name are registered."""

import logging
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from apillon_mcp.backends import sandbox_api
from apillon_mcp.config import Settings
from apillon_mcp.emulator import EmulatorState
from apillon_mcp.prompts import ARGUMENT_TYPES, load_prompts
from apillon_mcp.server import build_server
from apillon_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio

EXPECTED = {"deploy_function", "troubleshoot_function", "rotate_environment"}
UUID = "5b2e8f14-3c7a-4d9e-8a61-f0b7c2d94e85"
VALID = {"text": "x", "function_uuid": UUID, "job_uuid": UUID, "name": "x"}


async def test_the_workflow_prompts_are_listed_with_described_arguments(mcp: Client) -> None:
    prompts = {prompt.name: prompt for prompt in (await mcp.list_prompts()).prompts}

    assert set(prompts) == EXPECTED
    for prompt in prompts.values():
        assert prompt.description and prompt.title
        assert prompt.arguments
        assert all(argument.description for argument in prompt.arguments)
    assert {a.name: a.required for a in prompts["troubleshoot_function"].arguments or []} == {
        "function_uuid": True,
        "symptom": False,
    }


async def test_a_prompt_renders_the_given_arguments_and_defaults(mcp: Client) -> None:
    rendered = await mcp.get_prompt("troubleshoot_function", {"function_uuid": UUID})

    (message,) = rendered.messages
    body = getattr(message.content, "text", "")
    assert message.role == "user"
    assert UUID in body and "Reported symptom: none given" in body
    assert "get_cloud_function" in body and "$" not in body


async def test_a_uuid_is_rendered_in_its_usual_form(mcp: Client) -> None:
    rendered = await mcp.get_prompt("troubleshoot_function", {"function_uuid": "{" + UUID.upper() + "}"})

    assert UUID in getattr(rendered.messages[0].content, "text", "")


async def test_an_empty_optional_argument_counts_as_left_out(mcp: Client) -> None:
    rendered = await mcp.get_prompt("deploy_function", {"purpose": "echo", "function_name": ""})

    assert "not given, so pick a short descriptive one" in getattr(rendered.messages[0].content, "text", "")


async def test_every_prompt_renders_with_only_its_required_arguments(mcp: Client) -> None:
    for prompt in load_prompts():
        required = {
            name: VALID[spec.get("type", "text")] for name, spec in prompt.arguments.items() if spec.get("required")
        }
        rendered = await mcp.get_prompt(prompt.name, required)
        assert rendered.messages, prompt.name


@pytest.mark.parametrize(
    ("prompt", "arguments", "message"),
    [
        (
            "troubleshoot_function",
            {},
            "Invalid arguments for prompt troubleshoot_function: function_uuid is required: a UUID (8-4-4-4-12 hex "
            "digits); list_cloud_functions gives them.",
        ),
        (
            "rotate_environment",
            {"function_uuid": "", "change": "rotate API_TOKEN"},
            "Invalid arguments for prompt rotate_environment: function_uuid is required: a UUID (8-4-4-4-12 hex "
            "digits); list_cloud_functions gives them.",
        ),
        (
            "troubleshoot_function",
            {"function_uuid": "not-a-uuid"},
            "Invalid arguments for prompt troubleshoot_function: function_uuid must be a UUID (8-4-4-4-12 hex "
            "digits); list_cloud_functions gives them.",
        ),
        (
            "deploy_function",
            {"function_name": "n" * 256},
            "Invalid arguments for prompt deploy_function: purpose is required: text of 1 to 4000 characters. "
            "function_name must be text of 1 to 255 characters, or left out.",
        ),
    ],
)
async def test_a_missing_or_invalid_argument_is_an_invalid_params_error_naming_it(
    mcp: Client, caplog: pytest.LogCaptureFixture, prompt: str, arguments: dict[str, str], message: str
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(MCPError) as raised:
        await mcp.get_prompt(prompt, arguments)

    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.message == message
    assert "not-a-uuid" not in raised.value.error.message
    assert "Traceback" not in caplog.text and "handler raised" not in caplog.text


async def prompts_listed(**settings: Any) -> set[str]:
    async with Client(build_server(Settings(emulator=True, **settings), sandbox_api(EmulatorState()))) as client:
        return {prompt.name for prompt in (await client.list_prompts()).prompts}


async def test_read_only_mode_lists_no_prompt_that_needs_a_write_tool() -> None:
    assert await prompts_listed(read_only=True) == set()


async def test_a_tool_selection_lists_the_prompts_whose_tools_are_all_selected() -> None:
    troubleshooting = (
        "get_cloud_function",
        "invoke_cloud_function",
        "get_credit_balance",
        "test_cloud_function_script",
        "create_cloud_function_job",
    )

    assert await prompts_listed(tools=troubleshooting) == {"troubleshoot_function"}
    assert await prompts_listed(tools=troubleshooting[:2]) == set()


def test_every_prompt_names_tools_that_exist_and_declares_known_types() -> None:
    names = [tool.name for tool in ALL_TOOLS]
    for prompt in load_prompts():
        assert prompt.tools_named(names), prompt.name
        assert {spec.get("type", "text") for spec in prompt.arguments.values()} <= set(ARGUMENT_TYPES)
    assert load_prompts()[0].tools_named(["deploy_cloud_function_script", "deploy_cloud_function"]) == {
        "deploy_cloud_function_script"
    }


def test_prompt_templates_use_exactly_their_declared_arguments() -> None:
    for prompt in load_prompts():
        used = {
            m.group("named") or m.group("braced") for m in prompt.template.pattern.finditer(prompt.template.template)
        }
        assert used - {None} == set(prompt.arguments), prompt.name
