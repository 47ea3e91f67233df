"""Workflow prompts shipped as files: listed with described arguments, rendered with the arguments given."""

import pytest
from mcp import Client

from apillon_mcp.prompts import load_prompts

pytestmark = pytest.mark.anyio

EXPECTED = {"deploy_function", "troubleshoot_function", "rotate_environment"}


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
    rendered = await mcp.get_prompt("troubleshoot_function", {"function_uuid": "f-123"})

    (message,) = rendered.messages
    body = getattr(message.content, "text", "")
    assert message.role == "user"
    assert "f-123" in body and "Reported symptom: none given" in body
    assert "get_cloud_function" in body and "$" not in body


async def test_every_prompt_renders_with_only_its_required_arguments(mcp: Client) -> None:
    for prompt in (await mcp.list_prompts()).prompts:
        required = {a.name: "x" for a in prompt.arguments or [] if a.required}
        rendered = await mcp.get_prompt(prompt.name, required)
        assert rendered.messages, prompt.name


def test_prompt_templates_use_exactly_their_declared_arguments() -> None:
    for prompt in load_prompts():
        used = {
            m.group("named") or m.group("braced") for m in prompt.template.pattern.finditer(prompt.template.template)
        }
        assert used - {None} == set(prompt.arguments), prompt.name
