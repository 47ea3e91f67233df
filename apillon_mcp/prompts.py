"""Workflow prompts, one file each under `prompts/`: a TOML header between `+++` lines, then a `$name` template."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument

from apillon_mcp.context import ApillonServer


@dataclass(frozen=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: dict[str, dict[str, Any]]
    template: Template

    def render(self, **given: str) -> str:
        values = {name: spec.get("default", "") for name, spec in self.arguments.items()}
        values.update({name: value for name, value in given.items() if value})
        return self.template.substitute(values)

    def as_prompt(self) -> Prompt:
        return Prompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=[
                PromptArgument(name=name, description=spec["description"], required=bool(spec.get("required")))
                for name, spec in self.arguments.items()
            ],
            fn=self.render,
            context_kwarg=None,
        )


def prompts_folder() -> Traversable:
    """The packaged copy in a wheel; the repository's `prompts/` in an editable install or a source tree."""
    packaged = files("apillon_mcp").joinpath("prompt_files")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


def parse_prompt(name: str, text: str) -> PromptFile:
    _, header, body = text.split("+++", 2)
    meta = tomllib.loads(header)
    return PromptFile(
        name=name,
        title=meta["title"],
        description=meta["description"],
        arguments=meta.get("arguments", {}),
        template=Template(body.strip()),
    )


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


def register(mcp: ApillonServer) -> None:
    for prompt in load_prompts():
        mcp.add_prompt(prompt.as_prompt())
