"""Tool schemas without what costs the agent's context and tells it nothing.

Every tool definition is sent to the model on every turn. pydantic adds a `title` to each schema and property
(the field name again), and spells an optional argument as `anyOf: [<schema>, {"type": "null"}]` with
`default: null`. Leaving an argument out already means "not given", so the optional form is just `<schema>`, and
`default: null` says nothing.
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the JSON schema without titles, null defaults and `X | None` spelt as `anyOf`."""
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            result[key] = {name: compact_schema(sub) if isinstance(sub, dict) else sub for name, sub in value.items()}
        elif isinstance(value, dict):
            result[key] = compact_schema(value)
        elif isinstance(value, list):
            result[key] = [compact_schema(item) if isinstance(item, dict) else item for item in value]
        else:
            result[key] = value
    options = result.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and _NULL in options and schema.get("default", 0) is None:
        (kept,) = (option for option in options if option != _NULL)
        result = {**kept, **{key: value for key, value in result.items() if key != "anyOf"}}
    return result
