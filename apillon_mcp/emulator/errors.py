"""Wire errors raised by the state layer, one constructor per Apillon error shape (apillon-api.md §3.2).

Every shape is sent as `{"id", <fields>, "path", "timestamp"}`; the constructors fix which fields sit in between.
"""

from typing import TypedDict

UNHANDLED = 500001
MICROSERVICE_VALIDATION = 500004
INTERNAL_SERVICE_MESSAGE = "Error calling internal service!"


class FieldError(TypedDict):
    code: int
    property: str
    message: str


class EmulatedError(Exception):
    """An HTTP error answer: `status` plus the body fields between `id` and `path`."""

    def __init__(self, status: int, fields: dict[str, object]) -> None:
        super().__init__(status, fields)
        self.status = status
        self.fields = fields

    @classmethod
    def api(cls, status: int, code: int, message: str) -> "EmulatedError":
        """Shape A: raised in the API layer (auth middleware, role guard); carries `status`."""
        return cls(status, {"status": status, "code": code, "message": message})

    @classmethod
    def dto(cls, model: str, errors: list[FieldError]) -> "EmulatedError":
        """Shape B: request DTO validation; `model` and `errors`, no top-level code or message."""
        return cls(422, {"status": 422, "model": model, "errors": errors})

    @classmethod
    def service(cls, status: int, code: int, message: str) -> "EmulatedError":
        """Shape C: a code exception from a microservice; no `status` key."""
        return cls(status, {"code": code, "message": message})

    @classmethod
    def service_validation(cls, errors: list[FieldError]) -> "EmulatedError":
        """Shape D: model validation inside a microservice, wrapped in code 500004; no `message` key."""
        return cls(422, {"code": MICROSERVICE_VALIDATION, "status": 422, "errors": errors})

    @classmethod
    def unhandled(cls, status: int, message: str = INTERNAL_SERVICE_MESSAGE) -> "EmulatedError":
        """Shape E: an unhandled error anywhere; code 500001."""
        return cls(status, {"code": UNHANDLED, "message": message})


def field_error(code: int, prop: str, message: str) -> FieldError:
    return {"code": code, "property": prop, "message": message}
