"""List search, ordering and paging in SQL (apillon-api.md §4): the backend's LIKE, and no input that stalls it."""

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState
from apillon_mcp.emulator.listing import ListQuery


def like(name: str, search: str) -> bool:
    """A reference `name LIKE CONCAT('%', search, '%')`, case-insensitive, `\\` escaping: dynamic programming,
    so it takes name length times pattern length steps whatever the input."""
    tokens: list[str | None] = []  # None: %, "": _, else one literal character
    pattern = f"%{search}%".lower()
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            tokens.append(pattern[index + 1])
            index += 2
            continue
        tokens.append(None if char == "%" else "" if char == "_" else char)
        index += 1
    text = name.lower()
    matches = [True] + [False] * len(text)  # matches[j]: the tokens so far match text[:j]
    for token in tokens:
        if token is None:
            for j in range(1, len(text) + 1):
                matches[j] = matches[j] or matches[j - 1]
        else:
            matches = [False] + [matches[j] and (token == "" or token == text[j]) for j in range(len(text))]
    return matches[-1]


def searched(state: EmulatorState, search: str) -> list[str]:
    rows, total = state.list_functions(ListQuery(search=search, limit=1000), project_uuid=DEFAULT_PROJECT_UUID)
    assert total == len(rows)
    return [row.name for row in rows]


ALPHABET = "aAbBé%_\\"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(st.text(ALPHABET, max_size=10), min_size=1, max_size=6, unique=True),
    search=st.text(ALPHABET, max_size=8),
)
def test_search_matches_exactly_what_the_backends_like_matches(names: list[str], search: str) -> None:
    state = EmulatorState()
    for name in names:
        state.create_function(name)

    assert searched(state, search) == [name for name in names if like(name, search)]


PATHOLOGICAL = {
    "the issue's pattern": "%a%a%a%b",
    "a wildcard before every character": "%a" * 127 + "b",
    "single wildcards, then a miss": "_%" * 127 + "b",
    "a long literal that almost matches": "a" * 254 + "b",
    "alternating literal runs": ("a" * 60 + "%") * 4 + "b",
    "escapes everywhere": "\\a%" * 120 + "\\b",
}


@pytest.mark.parametrize("search", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_patterns_that_backtrack_a_regex_for_minutes_answer_against_255_character_names(search: str) -> None:
    # A regex search took a minute for the pattern and one such name; the suite would stall here.
    state = EmulatorState()
    names = ["a" * 255, "ab" * 127 + "a", "a" * 254 + "b", "A" * 200 + "%_" * 27 + "b"]
    for name in names * 10:
        state.create_function(name)

    assert searched(state, search) == [name for name in names if like(name, search)] * 10


@pytest.mark.parametrize(
    ("search", "expected"),
    [("%" * 100_000, ["a", "b"]), ("a" * 60_000, []), ("%a" * 30_000, [])],
    ids=["only wildcards", "longer than any name", "longer than any name, with wildcards"],
)
def test_searches_longer_than_sqlite_takes_answer_as_like_would(search: str, expected: list[str]) -> None:
    state = EmulatorState()
    for name in ["a", "b"]:
        state.create_function(name)

    assert searched(state, search) == expected


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "names", "total"),
    [
        ("page=99999999999999999999", [], 1),
        ("limit=99999999999999999999", ["f"], 1),
        ("page=99999999999999999999&limit=99999999999999999999", [], 1),
        ("status=99999999999999999999", [], 0),
    ],
)
async def test_numbers_too_large_for_sql_page_past_everything_or_match_nothing(
    state: EmulatorState, client: httpx2.AsyncClient, query: str, names: list[str], total: int
) -> None:
    state.create_function("f")

    response = await client.get(f"/cloud-functions?{query}")

    data = response.json()["data"]
    assert response.status_code == 200
    assert ([item["name"] for item in data["items"]], data["total"]) == (names, total)
