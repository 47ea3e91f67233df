"""Request-body rules of the API endpoints (apillon-api.md §5.1, §5.4, §5.5, §12).

DTO checks report at most one error per property (the first failing rule), in property declaration order.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from apillon_mcp.emulator.coercion import js_integer, js_string, js_truthy, utf16_length
from apillon_mcp.emulator.errors import EmulatedError, FieldError, field_error
from apillon_mcp.emulator.records import UploadItem, UploadRequest
from apillon_mcp.emulator.request_bodies import parse_json
from apillon_mcp.emulator.upload_paths import upload_path

FIELD_NOT_PRESENT = (42200212, "COMPUTING_FIELD_NOT_PRESENT")
NAME_NOT_VALID = (42200205, "COMPUTING_NAME_NOT_VALID")
DESCRIPTION_NOT_VALID = (42200206, "COMPUTING_DESCRIPTION_NOT_VALID")
FIELD_NOT_VALID = (42200213, "COMPUTING_FIELD_NOT_VALID")
MAX_TEXT = 255
MIN_SLOTS, MAX_SLOTS, DEFAULT_SLOTS = 0, 10, 1
FILES_NOT_PRESENT = (42200040, "FILES_PROPERTY_NOT_PRESENT")
INVALID_FILES_LENGTH = (42200150, "INVALID_FILES_LENGTH")
FILE_NAME_NOT_PRESENT = (42200008, "FILE_NAME_NOT_PRESENT")
MAX_UPLOAD_FILES = 200


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


def parse_upload_request(body: Mapping[str, object]) -> UploadRequest:
    """`ApillonApiCreateS3UrlsForUploadDto`: `files` present, 1..200 items, each with a `fileName`.

    As the model parser does, a `files` value that is not an array counts as a one-item array.
    """
    files = body.get("files")
    items = files if isinstance(files, list) else [files]
    entries = [entry if isinstance(entry, dict) else {} for entry in items]
    names = [js_string(entry.get("fileName")) for entry in entries]
    if files is None or files == []:
        error = _on(FILES_NOT_PRESENT, "files")
    elif len(items) > MAX_UPLOAD_FILES:
        error = _on(INVALID_FILES_LENGTH, "files")
    elif not all(names):
        error = _on(FILE_NAME_NOT_PRESENT, "files")
    else:
        uploads = [
            UploadItem(name, js_string(entry.get("contentType")), upload_path(js_string(entry.get("path"))))
            for name, entry in zip(names, entries, strict=True)
            if name
        ]
        return UploadRequest(uploads, js_string(body.get("sessionUuid")) or None)
    raise EmulatedError.dto("ApillonApiCreateS3UrlsForUploadDto", [error])


def parse_variables(body: Mapping[str, object]) -> list[dict[str, object]]:
    """The environment list: an array (or its JSON text), non-empty, every entry with a truthy key and value."""
    variables = body.get("variables")
    if isinstance(variables, str):
        try:
            variables = parse_json(variables)
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
