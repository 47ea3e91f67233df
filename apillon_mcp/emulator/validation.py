"""Request-body rules of the cloud-function endpoints (apillon-api.md §5.1, §5.4, §5.5).

DTO checks report at most one error per property (the first failing rule), in property declaration order.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from apillon_mcp.emulator.coercion import js_integer, js_string, js_truthy, utf16_length
from apillon_mcp.emulator.errors import EmulatedError, FieldError, field_error

FIELD_NOT_PRESENT = (42200212, "COMPUTING_FIELD_NOT_PRESENT")
NAME_NOT_VALID = (42200205, "COMPUTING_NAME_NOT_VALID")
DESCRIPTION_NOT_VALID = (42200206, "COMPUTING_DESCRIPTION_NOT_VALID")
FIELD_NOT_VALID = (42200213, "COMPUTING_FIELD_NOT_VALID")
MAX_TEXT = 255
MIN_SLOTS, MAX_SLOTS, DEFAULT_SLOTS = 0, 10, 1


@dataclass(frozen=True)
class NewFunction:
    name: str
    description: str | None


@dataclass(frozen=True)
class NewJob:
    name: str
    script_cid: str
    slots: int | None  # an explicit null passes the DTO and is refused later by the microservice


def parse_create_function(body: Mapping[str, object]) -> NewFunction:
    """`CreateCloudFunctionDto`: name, then description."""
    name, description = js_string(body.get("name")), js_string(body.get("description"))
    errors = [*_name_errors(name), *_description_errors(description)]
    if errors or name is None:
        raise EmulatedError.dto("CreateCloudFunctionDto", errors)
    return NewFunction(name=name, description=description)


def parse_create_job(body: Mapping[str, object]) -> NewJob:
    """`CreateJobDto`: name and description (inherited, validated then dropped), scriptCid, slots."""
    name, description = js_string(body.get("name")), js_string(body.get("description"))
    script_cid = js_string(body.get("scriptCid"))
    slots = js_integer(body["slots"]) if "slots" in body else DEFAULT_SLOTS
    errors = [*_name_errors(name), *_description_errors(description)]
    if not script_cid:
        errors.append(_on(FIELD_NOT_PRESENT, "scriptCid"))
    if slots is not None and not MIN_SLOTS <= slots <= MAX_SLOTS:
        errors.append(_on(FIELD_NOT_VALID, "slots"))
    if errors or name is None or not script_cid:
        raise EmulatedError.dto("CreateJobDto", errors)
    return NewJob(name=name, script_cid=script_cid, slots=slots)


def parse_variables(body: Mapping[str, object]) -> list[dict[str, object]]:
    """The environment list: an array (or its JSON text), non-empty, every entry with a truthy key and value."""
    variables = body.get("variables")
    if isinstance(variables, str):
        try:
            variables = json.loads(variables)
        except ValueError:
            variables = None
    if not isinstance(variables, list) or not variables or not all(map(_is_variable, variables)):
        raise EmulatedError.service_validation([field_error(42218016, "variables", "FIELD_INVALID")])
    return variables


def _is_variable(entry: object) -> TypeGuard[dict[str, object]]:
    return isinstance(entry, dict) and js_truthy(entry.get("key")) and js_truthy(entry.get("value"))


def _name_errors(name: str | None) -> list[FieldError]:
    if not name:
        return [_on(FIELD_NOT_PRESENT, "name")]
    if utf16_length(name) > MAX_TEXT:
        return [_on(NAME_NOT_VALID, "name")]
    return []


def _description_errors(description: str | None) -> list[FieldError]:
    if description is not None and not 1 <= utf16_length(description) <= MAX_TEXT:
        return [_on(DESCRIPTION_NOT_VALID, "description")]
    return []


def _on(rule: tuple[int, str], prop: str) -> FieldError:
    code, message = rule
    return field_error(code, prop, message)
