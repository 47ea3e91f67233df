"""The rule "every parameter is described and constrained", checked on a tool's input schema.

A parameter is a property of the input schema; local `$ref`s are resolved. It is *described* when the property
itself has a non-empty `description`. It is *constrained* when its schema, with `null` alternatives left out,
bounds what the model may send:

- `enum` or `const`: always;
- string: `maxLength`, `pattern` or `format`;
- integer, number: a lower bound (`minimum`/`exclusiveMinimum`) and an upper one (`maximum`/`exclusiveMaximum`);
- boolean: always;
- array: `maxItems`, and its `items` constrained;
- object: its keys bounded (`maxProperties`, `additionalProperties: false`, or declared `properties` and no
  `additionalProperties`), and every value schema (each of `properties`, `additionalProperties`) constrained; an
  object declaring neither takes values of any type;
- `anyOf`/`oneOf`: a free JSON value (branches naming only a type, covering object, array, string, number and
  boolean) counts as constrained; otherwise every branch must be;
- a schema with no type: never.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Schema = Mapping[str, Any]
_FREE_JSON = frozenset({"object", "array", "string", "number", "boolean"})


@dataclass(frozen=True)
class Violation:
    tool: str
    parameter: str
    """Dotted path: `headers.*` is any value of the `headers` object, `tags[]` any item of the `tags` array."""
    problem: str

    def __str__(self) -> str:
        return f"{self.tool}.{self.parameter}: {self.problem}"


def violations(tool: str, input_schema: Schema) -> list[Violation]:
    definitions: Schema = input_schema.get("$defs", {})
    found: list[Violation] = []
    for name, prop in input_schema.get("properties", {}).items():
        if not str(prop.get("description", "")).strip():
            found.append(Violation(tool, name, "no description"))
        found.extend(Violation(tool, path, problem) for path, problem in _unconstrained(prop, name, definitions))
    return found


def _resolve(schema: Schema, definitions: Schema) -> Schema:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        return _resolve(definitions[reference.removeprefix("#/$defs/")], definitions)
    return schema


def _unconstrained(schema: Schema, path: str, definitions: Schema) -> list[tuple[str, str]]:
    schema = _resolve(schema, definitions)
    if "enum" in schema or "const" in schema:
        return []
    branches = schema.get("anyOf", schema.get("oneOf"))
    if branches is not None:
        concrete = [_resolve(b, definitions) for b in branches if _resolve(b, definitions).get("type") != "null"]
        if all(set(b) == {"type"} for b in concrete) and {str(b["type"]) for b in concrete} >= _FREE_JSON:
            return []
        return [problem for branch in concrete for problem in _unconstrained(branch, path, definitions)]
    kinds = schema.get("type")
    if kinds is None:
        return [(path, "no type: any value is accepted")]
    problems: list[tuple[str, str]] = []
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        problems.extend(_kind_problems(kind, schema, path, definitions))
    return problems


def _kind_problems(kind: str, schema: Schema, path: str, definitions: Schema) -> list[tuple[str, str]]:
    if kind in ("null", "boolean"):
        return []
    if kind == "string":
        return (
            []
            if {"maxLength", "pattern", "format"} & set(schema)
            else [(path, "string without maxLength/pattern/format/enum")]
        )
    if kind in ("integer", "number"):
        missing = [
            bound
            for bound, keys in (
                ("minimum", ("minimum", "exclusiveMinimum")),
                ("maximum", ("maximum", "exclusiveMaximum")),
            )
            if not set(keys) & set(schema)
        ]
        return [(path, f"{kind} without {' or '.join(missing)}")] if missing else []
    if kind == "array":
        problems = [] if "maxItems" in schema else [(path, "array without maxItems")]
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return [*problems, (f"{path}[]", "array items of any type")]
        return [*problems, *_unconstrained(items, f"{path}[]", definitions)]
    if kind == "object":
        return _object_problems(schema, path, definitions)
    return [(path, f"unknown type {kind!r}")]


def _object_problems(schema: Schema, path: str, definitions: Schema) -> list[tuple[str, str]]:
    extra = schema.get("additionalProperties")
    declared: Schema = schema.get("properties", {})
    bounded = "maxProperties" in schema or extra is False or (bool(declared) and extra is None)
    problems = [] if bounded else [(path, "object without maxProperties")]
    for name, prop in declared.items():
        problems.extend(_unconstrained(prop, f"{path}.{name}", definitions))
    if isinstance(extra, Mapping):
        problems.extend(_unconstrained(extra, f"{path}.*", definitions))
    elif not declared and extra is not False:
        problems.append((f"{path}.*", "object values of any type"))
    return problems
