"""What a benchmark hands back: figures for the JSON file, tables for the terminal, the budgets it judged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

Json: TypeAlias = Mapping[str, "Json"] | Sequence["Json"] | str | int | float | bool | None
Cell: TypeAlias = str | int | float | None


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]


@dataclass(frozen=True)
class Budget:
    """One judged figure: `met` says whether `actual` is within `limit`; `cause` explains a miss."""

    name: str
    limit: str
    actual: str
    met: bool
    cause: str = ""

    def as_json(self) -> dict[str, Json]:
        return {"name": self.name, "limit": self.limit, "actual": self.actual, "met": self.met, "cause": self.cause}


@dataclass
class Outcome:
    figures: dict[str, Json] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    budgets: list[Budget] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
