"""`gateway_payload`: the JSON text a script receives, built as Apillon's gateway builds it (apillon-api.md §10)."""

import json

import pytest

from apillon_mcp.runner import gateway_payload


def payload(
    *,
    body: bytes | None = None,
    path: str = "/",
    query: list[tuple[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> dict[str, object]:
    parsed = json.loads(gateway_payload(body=body, path=path, query=query or [], headers=headers or []))
    assert isinstance(parsed, dict)
    return parsed


def test_the_keys_come_in_the_gateways_order() -> None:
    assert list(payload()) == [
        "body",
        "headers",
        "path",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
    ]


def test_api_gateways_own_headers_are_dropped_case_sensitively() -> None:
    headers = [
        ("X-Forwarded-For", "1.2.3.4"),
        ("CloudFront-Viewer-Country", "SI"),
        ("Via", "1.1 cloudfront"),
        ("x-trace", "t1"),
        ("via-me", "kept: lowercase"),
        ("Authorization", "Bearer caller"),
        ("Accept", "a"),
        ("Accept", "b"),
    ]

    assert payload(headers=headers)["headers"] == {
        "x-trace": "t1",
        "via-me": "kept: lowercase",
        "Authorization": "Bearer caller",
        "Accept": "b",
    }


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        (b'{"a": [1, 2]}', {"a": [1, 2]}),
        (b"plain text", "plain text"),
        (b"NaN", "NaN"),
        (b"", None),
        (None, None),
        ("h\u00e9llo".encode(), "h\u00e9llo"),
        (b"\xff\xfe", "\ufffd\ufffd"),
    ],
    ids=["json", "text", "nan", "empty", "absent", "utf8", "not-utf8"],
)
def test_the_body_is_json_else_text_else_null(body: bytes | None, seen: object) -> None:
    assert payload(body=body)["body"] == seen


@pytest.mark.parametrize(
    "body",
    ["[" * 5_000 + "]" * 5_000, "[" * 65 + "]" * 65, '{"n": ' + "9" * 5_000 + "}", '{"n": 1e400}', '{"n": NaN}'],
    ids=["nested-very-deep", "nested-past-the-bound", "huge-integer", "huge-float", "nan"],
)
def test_a_body_past_the_bounds_reaches_the_script_as_text(body: str) -> None:
    assert payload(body=body.encode())["body"] == body


def test_a_body_within_the_bounds_is_parsed() -> None:
    body = "[" * 64 + "1.5e3, -2, 12345678901234567890" + "]" * 64

    seen = payload(body=body.encode())["body"]

    for _ in range(63):
        assert isinstance(seen, list) and len(seen) == 1
        seen = seen[0]
    assert seen == [1500.0, -2, 12345678901234567890]


def test_the_path_and_query_as_api_gateways_proxy_event_has_them() -> None:
    built = payload(path="/prices/btc", query=[("currency", "eur"), ("tag", "a"), ("tag", "b")])

    assert built["path"] == "/prices/btc"
    assert built["pathParameters"] == {"proxy": "prices/btc"}
    assert built["queryStringParameters"] == {"currency": "eur", "tag": "b"}
    assert built["multiValueQueryStringParameters"] == {"currency": ["eur"], "tag": ["a", "b"]}


def test_the_root_path_has_no_path_parameters_and_no_query() -> None:
    built = payload()

    assert (built["path"], built["pathParameters"]) == ("/", None)
    assert (built["queryStringParameters"], built["multiValueQueryStringParameters"]) == (None, None)
