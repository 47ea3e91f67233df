"""Workflow prompts, one file each under `prompts/`: a TOML header between `+++` lines, then a `$name` template.

Each argument in the header has a `description`, whether it is `required`, a `default` shown when an optional one
is left out, and a `type` from `ARGUMENT_TYPES` ("text" unless given). A prompt checks its arguments before it
renders: a missing or invalid one is an invalid-params error that names it in the words a tool would use. A prompt
is offered only when every tool its text names is registered (not in read-only mode, say, if it deploys).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.prompts.base import Message, Prompt, PromptArgument
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, InputRequiredResult
from pydantic import BaseModel, Field, ValidationError, create_model

from apillon_mcp.context import ApillonServer
from apillon_mcp.tools import ALL_TOOLS
from apillon_mcp.tools.argument_errors import explain_rejected_arguments
from apillon_mcp.tools.arguments import FunctionUuid, JobUuid, Name
from apillon_mcp.tools.schema import compact_schema

MAX_TEXT_LENGTH = 4000

ARGUMENT_TYPES: Mapping[str, Any] = {
    "text": Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)],
    "function_uuid": FunctionUuid,
    "job_uuid": JobUuid,
    "name": Name,
}
"""The types a prompt argument may declare: the tools' own, so that a value a prompt accepts, a tool accepts too."""


@dataclass(frozen=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: dict[str, dict[str, Any]]
    template: Template
    model: type[BaseModel]
    """The arguments as a model: validates the values given and describes what a valid one looks like."""

    def tools_named(self, tool_names: Collection[str]) -> set[str]:
        """The tools of `tool_names` that the prompt's text tells the agent to use."""
        return {name for name in tool_names if re.search(rf"\b{re.escape(name)}\b", self.template.template)}

    def checked(self, given: Mapping[str, str] | None) -> dict[str, str]:
        """The values to render with: those given, checked, and the defaults of the optional ones left out.

        An empty value counts as left out (some clients send one for every optional argument); an argument the
        prompt does not declare is ignored. Raises an invalid-params `MCPError` naming each missing or invalid one.
        """
        values = {name: value for name, value in (given or {}).items() if name in self.arguments and value}
        try:
            parsed = self.model.model_validate(values)
        except ValidationError as error:
            schema = compact_schema(self.model.model_json_schema())
            rejection = explain_rejected_arguments(error, owner=self.name, model=self.model, schema=schema)
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"Invalid arguments for prompt {self.name}: {rejection.message}",
                data={"arguments": rejection.arguments},
            ) from None
        return {
            name: str(value) if value is not None else str(self.arguments[name].get("default", ""))
            for name, value in parsed.model_dump().items()
        }

    def as_prompt(self) -> Prompt:
        return CheckedPrompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=[
                PromptArgument(name=name, description=spec["description"], required=bool(spec.get("required")))
                for name, spec in self.arguments.items()
            ],
            fn=self.template.substitute,
            context_kwarg=None,
            check=self.checked,
        )


class CheckedPrompt(Prompt):
    """A prompt that checks its arguments before the SDK renders it (which answers a missing one with an internal
    error, and takes any text)."""

    check: Callable[[Mapping[str, str] | None], dict[str, str]] = Field(exclude=True)

    async def render(
        self, arguments: dict[str, Any] | None, context: Context[Any, Any]
    ) -> list[Message] | InputRequiredResult:
        return await super().render(self.check(arguments), context)


def prompts_folder() -> Traversable:
    """The packaged copy in a wheel; the repository's `prompts/` in an editable install or a source tree."""
    packaged = files("apillon_mcp").joinpath("prompt_files")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


def parse_prompt(name: str, text: str) -> PromptFile:
    _, header, body = text.split("+++", 2)
    meta = tomllib.loads(header)
    arguments: dict[str, dict[str, Any]] = meta.get("arguments", {})
    return PromptFile(
        name=name,
        title=meta["title"],
        description=meta["description"],
        arguments=arguments,
        template=Template(body.strip()),
        model=_arguments_model(name, arguments),
    )


def _arguments_model(prompt: str, arguments: Mapping[str, Mapping[str, Any]]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, spec in arguments.items():
        kind = spec.get("type", "text")
        if kind not in ARGUMENT_TYPES:
            raise ValueError(
                f"prompt {prompt}: argument {name} has type {kind!r}; the types are {list(ARGUMENT_TYPES)}"
            )
        # An optional argument left out stays None (never validated), so its type keeps its metadata unwrapped.
        fields[name] = (ARGUMENT_TYPES[kind], ... if spec.get("required") else None)
    model: type[BaseModel] = create_model(f"{prompt}PromptArguments", **fields)
    return model


def load_prompts() -> list[PromptFile]:
    folder = prompts_folder()
    return sorted(
        (
            parse_prompt(entry.name.removesuffix(".md"), entry.read_text(encoding="utf-8"))
            for entry in folder.iterdir()
            if entry.name.endswith(".md")
        ),
        key=lambda prompt: prompt.name,
    )


def register(mcp: ApillonServer, *, tools: Collection[str]) -> None:
    """Adds each prompt whose named tools are all among the registered `tools`."""
    every_tool = [tool.name for tool in ALL_TOOLS]
    for prompt in load_prompts():
        if prompt.tools_named(every_tool) <= set(tools):
            mcp.add_prompt(prompt.as_prompt())
