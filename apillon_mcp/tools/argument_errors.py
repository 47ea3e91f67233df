"""Argument errors in the words of the tool (or prompt) that refused them: one short sentence per argument.

pydantic's own text names its error types, links to its documentation and quotes the rejected input, which may be
a secret: a variable's value, a header, a token, script text. These sentences say which argument is wrong, what a
valid value looks like and where to get one, and never repeat a value the caller sent.

What a valid value looks like is read from the argument's JSON schema, the one the model was shown, so every
argument type is covered without a table per tool. A type that needs more says so next to its own definition: an
`ArgumentHelp` in its `Annotated[...]` metadata, or a validator that raises `argument_problem(reason)`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

Schema = Mapping[str, Any]

ARGUMENT_PROBLEM = "argument_problem"
_MAX_NAME_SHOWN = 40
_MAX_UNKNOWN_SHOWN = 5
_ANY_JSON = frozenset({"object", "array", "string", "number", "boolean"})
_FORMATS = {
    "uuid": "a UUID (8-4-4-4-12 hex digits)",
    "date-time": "a date and time in ISO 8601 form, e.g. 2025-01-31T12:00:00Z",
    "date": "a date in ISO 8601 form, e.g. 2025-01-31",
    "uri": "a URL",
    "email": "an email address",
}
# What a part inside an argument (an item of a list, a value of an object) got wrong, by pydantic error type.
_PART_REASONS = {
    "missing": "is missing",
    "string_type": "must be text",
    "string_too_short": "is too short",
    "string_too_long": "is too long",
    "string_pattern_mismatch": "has the wrong form",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "greater_than": "is too small",
    "greater_than_equal": "is too small",
    "less_than": "is too large",
    "less_than_equal": "is too large",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "literal_error": "is not one of the allowed values",
    "enum": "is not one of the allowed values",
    "extra_forbidden": "is not an accepted field",
}


@dataclass(frozen=True)
class ArgumentHelp:
    """What an argument error adds about a type, carried in its metadata: `Annotated[T, Field(...), ArgumentHelp(...)]`.

    It never reaches the schema the model is shown; only an error about an argument of this type says it.
    """

    looks_like: str | None = None
    """What a valid value is, in place of what the schema says, e.g. "the IPFS CID of the script file"."""
    get_it: str | None = None
    """Where to get a valid value, e.g. "list_cloud_functions gives them"."""


def argument_problem(reason: str) -> PydanticCustomError:
    """For a type's validator to raise: the argument is wrong because of `reason`.

    `reason` follows the argument's name ("is a raw-leaves CID: …") and must never quote the rejected value.
    """
    return PydanticCustomError(ARGUMENT_PROBLEM, reason)  # without a context, pydantic leaves braces as they are


@dataclass(frozen=True)
class Rejection:
    arguments: list[str]
    """The names of the arguments refused, in the order of the schema."""
    message: str
    """One sentence per argument."""


def explain_rejected_arguments(
    error: ValidationError, *, owner: str, model: type[BaseModel], schema: Schema
) -> Rejection:
    """Why `owner` (a tool or prompt whose arguments are `model`, published as `schema`) refused its arguments."""
    details = error.errors(include_url=False, include_input=False)
    properties: Schema = schema.get("properties", {})
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    by_argument: dict[str, list[ErrorDetails]] = {}
    for detail in details:
        if not detail["loc"]:
            return Rejection([], f"The arguments of {owner} must be a JSON object of argument names to values.")
        by_argument.setdefault(str(detail["loc"][0]), []).append(detail)
    order = [name for name in properties if name in by_argument] + [n for n in by_argument if n not in properties]
    sentences = [
        _sentence(
            name,
            by_argument[name],
            _resolve(properties.get(name, {}), schema),
            schema,
            fields.get(name),
            required=name in schema.get("required", ()),
        )
        for name in order
    ]
    return Rejection(order, " ".join(sentences))


def _sentence(
    name: str,
    details: Sequence[ErrorDetails],
    prop: Schema,
    root: Schema,
    field: FieldInfo | None,
    *,
    required: bool,
) -> str:
    for detail in details:
        if detail["type"] == ARGUMENT_PROBLEM:
            return _full_stop(f"{name} {detail['msg']}")
    help_ = _help_of(field)
    expected = help_.looks_like or looks_like(prop, root)
    where = f"; {help_.get_it}" if help_.get_it else ""
    if any(detail["type"] == "missing" and len(detail["loc"]) == 1 for detail in details):
        return _full_stop(f"{name} is required: {expected}{where}")
    optional = ", or left out" if not required and field is not None and field.default is None else ""
    valid = f"{name} must be {expected}{optional}{where}"
    nested = [detail for detail in details if len(detail["loc"]) > 1]
    if nested and _resolve(prop, root).get("type") in ("object", "array"):
        part = nested[0]
        reason = _PART_REASONS.get(part["type"], "is not valid")
        return _full_stop(f"{name}: {_part_name(part['loc'][1:], prop, root)} {reason}; {valid}")
    return _full_stop(valid)


def unknown_arguments(arguments: Mapping[str, Any], schema: Schema) -> list[str]:
    """The names given that are not arguments in `schema`."""
    properties: Schema = schema.get("properties", {})
    return [name for name in arguments if name not in properties]


def ignored_arguments_note(unknown: Sequence[str], *, owner: str, schema: Schema) -> str:
    """A sentence saying that `owner` ignored the `unknown` arguments, with the likely intended ones."""
    known = list(schema.get("properties", {}))
    shown = ", ".join(_quoted_name(name) for name in unknown[:_MAX_UNKNOWN_SHOWN])
    if len(unknown) > _MAX_UNKNOWN_SHOWN:
        shown += f" and {len(unknown) - _MAX_UNKNOWN_SHOWN} more"
    noun = "argument" if len(unknown) == 1 else "arguments"
    if not known:
        return f"Ignored the {noun} {shown}: {owner} takes no arguments."
    guesses = sorted({match for name in unknown for match in difflib.get_close_matches(name, known, n=1)})
    guess = f" (did you mean {' or '.join(guesses)}?)" if guesses else ""
    return f"Ignored the {noun} {shown}, which {owner} does not take{guess}; its arguments are {', '.join(known)}."


def looks_like(schema: Schema, root: Schema | None = None) -> str:
    """A valid value of `schema`, in words (`root` holds the `$defs` that `$ref`s point into)."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "enum" in schema:
        values = [json.dumps(value) for value in schema["enum"]]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if "const" in schema:
        return json.dumps(schema["const"])
    options = schema.get("anyOf", schema.get("oneOf"))
    if isinstance(options, list):
        concrete = [_resolve(option, root) for option in options if option.get("type") != "null"]
        if all(set(option) == {"type"} for option in concrete) and {o["type"] for o in concrete} >= _ANY_JSON:
            return "any JSON value"
        described = list(dict.fromkeys(looks_like(option, root) for option in concrete))
        nullable = len(concrete) < len(options)
        return " or ".join(described + (["null"] if nullable else []))
    kind = schema.get("type")
    if kind == "string":
        return _text(schema)
    if kind in ("integer", "number"):
        return _number(schema, whole=kind == "integer")
    if kind == "boolean":
        return "true or false"
    if kind == "object":
        return _object(schema, root)
    if kind == "array":
        return _array(schema, root)
    if kind == "null":
        return "null"
    return "a JSON value"


def _text(schema: Schema) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if "pattern" in schema:
        return f"text matching the regular expression {schema['pattern']}"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if high is not None:
        return f"text of {_range(low, high)} characters" if low else f"text of at most {high} characters"
    if low == 1:
        return "non-empty text"
    return f"text of at least {low} characters" if low else "text"


def _number(schema: Schema, *, whole: bool) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if whole:  # an exclusive bound of a whole number is the inclusive one next to it
        if low is None and "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        if high is None and "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - 1
        return "a whole number" + _bounds(low, high)
    exclusive = [
        f"{word} {schema[key]}"
        for key, word in (("exclusiveMinimum", "greater than"), ("exclusiveMaximum", "less than"))
        if key in schema
    ]
    return "a number" + _bounds(low, high) + (" " + " and ".join(exclusive) if exclusive else "")


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    return ""


def _object(schema: Schema, root: Schema) -> str:
    text = "a JSON object"
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping) and values:
        text += f" whose values are each {looks_like(values, root)}"
    elif "properties" in schema:
        text += " with the fields " + ", ".join(schema["properties"])
    low, high = schema.get("minProperties", 0), schema.get("maxProperties")
    if high is not None:
        text += f", with {_range(low, high)} entries" if low else f", with at most {high} entries"
    elif low:
        text += f", with at least {low} entries"
    return text


def _array(schema: Schema, root: Schema) -> str:
    count = f" of at most {schema['maxItems']} items" if "maxItems" in schema else ""
    items = schema.get("items")
    each = f", each {looks_like(items, root)}" if isinstance(items, Mapping) and items else ""
    return f"a JSON list{count}{each}"


def _range(low: int, high: int) -> str:
    return f"exactly {low}" if low == high else f"{low} to {high}"


def _resolve(schema: Schema, root: Schema) -> Schema:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        definition = root.get("$defs", {}).get(reference.removeprefix("#/$defs/"))
        if isinstance(definition, Mapping):
            return _resolve({**definition, **{k: v for k, v in schema.items() if k != "$ref"}}, root)
    return schema


def _help_of(field: FieldInfo | None) -> ArgumentHelp:
    found = [item for item in (field.metadata if field is not None else []) if isinstance(item, ArgumentHelp)]
    return found[-1] if found else ArgumentHelp()


def _part_name(path: Sequence[int | str], schema: Schema, root: Schema) -> str:
    """Where inside an argument: list items by position, declared fields by name. A key of a free-form object is
    the caller's text (a variable or header name, say), so it is not repeated."""
    words = []
    for part in path:
        schema = _resolve(schema, root)
        declared: Schema = schema.get("properties", {})
        if isinstance(part, int):
            words.append(f"item {part + 1}")
            schema = schema.get("items", {})
        elif part in declared:
            words.append(f"field {part}")
            schema = declared[part]
        else:
            words.append("an entry")
            extra = schema.get("additionalProperties")
            schema = extra if isinstance(extra, Mapping) else {}
    return ", ".join(words)


def _quoted_name(name: str) -> str:
    """The name as a JSON string (control and direction characters escaped), cut short when long."""
    return json.dumps(name) if len(name) <= _MAX_NAME_SHOWN else json.dumps(name[:_MAX_NAME_SHOWN]) + "…"


def _full_stop(sentence: str) -> str:
    return sentence if sentence.endswith((".", "?", "!")) else sentence + "."
