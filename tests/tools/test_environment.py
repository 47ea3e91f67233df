import logging
from uuid import uuid4

import pytest
from mcp import Client

from apillon_mcp.emulator import DEFAULT_PROJECT_UUID, EmulatorState, Role, Service

from support import HELLO_WORLD_CID, ServerFactory, add_key_without, text, token_of

pytestmark = pytest.mark.anyio

SECRET_VALUE = "sk-live-4f9a1c77e2"


async def replace(mcp: Client, function_uuid: str, variables: object) -> tuple[str, str]:
    arguments = {"function_uuid": function_uuid, "variables": variables}
    first = text(await mcp.call_tool("set_cloud_function_environment", arguments))
    done = await mcp.call_tool("set_cloud_function_environment", {**arguments, "confirmation_token": token_of(first)})
    return first, text(done)


async def test_replacing_stores_exactly_the_new_set_and_never_shows_values(
    mcp: Client, emulator: EmulatorState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    function = emulator.create_function("fn")
    emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)

    await replace(mcp, function.function_uuid, {"OLD": "gone"})
    first, done = await replace(mcp, function.function_uuid, {"API_URL": "https://x.example", "TOKEN": SECRET_VALUE})

    assert emulator.functions[function.function_uuid].variables == [
        {"key": "API_URL", "value": "https://x.example"},
        {"key": "TOKEN", "value": SECRET_VALUE},
    ]
    assert '2 variables: "API_URL", "TOKEN"' in first
    assert 'The active job "live" receives the new values' in first
    assert 'now exactly 2 variables: "API_URL", "TOKEN"' in done
    assert "cannot be read back" in done
    assert SECRET_VALUE not in first + done + caplog.text


async def test_the_list_form_of_the_api_is_accepted(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    _, done = await replace(mcp, function.function_uuid, [{"key": "A", "value": "1"}])

    assert emulator.functions[function.function_uuid].variables == [{"key": "A", "value": "1"}]
    assert "No job has matched yet" in done


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "variables is empty"),
        ({"EMPTY": ""}, 'the value of "EMPTY" must be a non-empty string'),
        ({"PORT": 8080}, 'the value of "PORT" must be a non-empty string'),
        ({"NESTED": {"token": SECRET_VALUE}}, 'the value of "NESTED"'),
        ({"": SECRET_VALUE}, "every variable name must be a string of 1 to 255 characters"),
        ([{"key": "A", "value": SECRET_VALUE}, {"key": "A", "value": "x"}], '"A" is given twice'),
        ("not an object", "must be an object"),
        ({"BIG": "v" * 5000}, "Apillon accepts at most 4096"),
    ],
)
async def test_bad_variables_are_refused_before_any_request_without_quoting_values(
    mcp: Client, emulator: EmulatorState, variables: object, message: str
) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "set_cloud_function_environment", {"function_uuid": function.function_uuid, "variables": variables}
    )

    assert answer.is_error
    assert message in text(answer)
    assert SECRET_VALUE not in text(answer)
    assert emulator.requests == []


async def test_replacing_after_the_active_job_was_deleted_says_the_values_were_saved(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    job = emulator.create_job(function.function_uuid, "live", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.delete_job(job.job_uuid, project_uuid=function.project_uuid)

    first, done = await replace(mcp, function.function_uuid, {"A": "1"})

    assert "Its active job was deleted" in first
    assert "40418004 JOB_NOT_FOUND" in done
    assert "WERE saved" in done
    assert emulator.functions[function.function_uuid].variables == [{"key": "A", "value": "1"}]


async def test_replacing_needs_the_execute_permission(make_server: ServerFactory, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    key, secret = add_key_without(emulator, (Role.EXECUTE, Service.COMPUTING))

    async with Client(make_server(api_key=key, api_secret=secret)) as client:
        _, done = await replace(client, function.function_uuid, {"A": "1"})

    assert "lacks the Execute permission for Computing (KEY_EXECUTE)" in done
    assert emulator.functions[function.function_uuid].variables is None


async def test_replacing_on_an_unknown_function_is_an_error_before_any_token(mcp: Client) -> None:
    answer = await mcp.call_tool(
        "set_cloud_function_environment", {"function_uuid": str(uuid4()), "variables": {"A": "1"}}
    )

    assert answer.is_error
    assert "CLOUD_FUNCTION_NOT_FOUND" in text(answer)
    assert "confirmation_token" not in text(answer)


async def test_variables_sent_as_a_json_string_are_accepted(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    await replace(mcp, function.function_uuid, '{"A": "1"}')

    assert emulator.functions[function.function_uuid].variables == [{"key": "A", "value": "1"}]


async def test_up_to_100_variables_are_accepted_and_101_refused_with_nothing_changed(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    hundred = {f"V{n}": "x" for n in range(100)}

    refused = await mcp.call_tool(
        "set_cloud_function_environment",
        {"function_uuid": function.function_uuid, "variables": {**hundred, "ONE_MORE": "x"}},
    )
    _, done = await replace(mcp, function.function_uuid, hundred)

    assert refused.is_error and "at most 100 variables" in text(refused)
    assert "now exactly 100 variables" in done
    assert len(emulator.functions[function.function_uuid].variables or []) == 100


async def test_a_name_of_255_characters_is_accepted_and_256_refused(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    refused = await mcp.call_tool(
        "set_cloud_function_environment", {"function_uuid": function.function_uuid, "variables": {"N" * 256: "x"}}
    )
    _, done = await replace(mcp, function.function_uuid, {"N" * 255: "x"})

    assert refused.is_error and "1 to 255 characters" in text(refused)
    assert "now exactly 1 variable" in done


async def test_the_key_value_list_apillon_uses_is_accepted_too(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    _, done = await replace(
        mcp, function.function_uuid, [{"key": "API_URL", "value": "https://x.example"}, {"key": "MODE", "value": "a"}]
    )

    assert 'now exactly 2 variables: "API_URL", "MODE"' in done
    assert emulator.functions[function.function_uuid].variables == [
        {"key": "API_URL", "value": "https://x.example"},
        {"key": "MODE", "value": "a"},
    ]


@pytest.mark.parametrize(
    "variables",
    [
        [{"key": "A", "value": "1", "extra": "no"}],
        [{"key": "A"}],
        [{"name": "A", "value": "1"}],
        [["A", "1"]],
        [["key", "value"]],
        "A=1",
        "",
    ],
    ids=["extra-field", "no-value", "other-names", "pairs", "pairs-named-like-keys", "text", "empty-text"],
)
async def test_any_other_shape_is_refused_with_nothing_changed(
    mcp: Client, emulator: EmulatorState, variables: object
) -> None:
    function = emulator.create_function("fn")

    answer = await mcp.call_tool(
        "set_cloud_function_environment", {"function_uuid": function.function_uuid, "variables": variables}
    )

    assert answer.is_error
    assert text(answer).startswith(
        "Error executing tool set_cloud_function_environment: variables must be an object mapping each NAME to its "
        "value"
    )
    assert emulator.functions[function.function_uuid].variables is None


async def test_the_advertised_schema_of_variables_states_the_limits(mcp: Client) -> None:
    listed = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    variables = listed["set_cloud_function_environment"].input_schema["properties"]["variables"]

    assert variables == {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 100,
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 4096},
        "propertyNames": {"minLength": 1, "maxLength": 255},
        "description": "The COMPLETE set, {NAME: value}; at most about 4 KiB of JSON. Values are never shown back.",
    }


async def test_variables_of_4096_bytes_of_json_are_accepted_and_4097_refused(
    mcp: Client, emulator: EmulatorState
) -> None:
    function = emulator.create_function("fn")
    overhead = len('[{"key": "A", "value": ""}]')

    refused = await mcp.call_tool(
        "set_cloud_function_environment",
        {"function_uuid": function.function_uuid, "variables": {"A": "x" * (4097 - overhead)}},
    )
    _, done = await replace(mcp, function.function_uuid, {"A": "x" * (4096 - overhead)})

    assert refused.is_error and "take 4097 bytes as JSON" in text(refused)
    assert "now exactly 1 variable" in done


async def test_a_token_for_one_function_does_not_replace_another_functions_variables(
    mcp: Client, emulator: EmulatorState
) -> None:
    first, second = emulator.create_function("a"), emulator.create_function("b")
    variables = {"MODE": "live"}
    answer = await mcp.call_tool(
        "set_cloud_function_environment", {"function_uuid": first.function_uuid, "variables": variables}
    )

    other = await mcp.call_tool(
        "set_cloud_function_environment",
        {"function_uuid": second.function_uuid, "variables": variables, "confirmation_token": token_of(text(answer))},
    )

    assert "issued for another call" in text(other)
    assert emulator.functions[second.function_uuid].variables is None


async def test_the_effect_says_who_receives_the_values_in_each_situation(mcp: Client, emulator: EmulatorState) -> None:
    never = emulator.create_function("never served")
    orphaned = emulator.create_function("orphaned")
    job = emulator.create_job(orphaned.function_uuid, "gone", HELLO_WORLD_CID)
    emulator.clock.advance(3600)
    emulator.delete_job(job.job_uuid, project_uuid=DEFAULT_PROJECT_UUID)

    def asking(function_uuid: str) -> dict[str, object]:
        return {"function_uuid": function_uuid, "variables": {"A": "1"}}

    unserved = text(await mcp.call_tool("set_cloud_function_environment", asking(never.function_uuid)))
    deleted = text(await mcp.call_tool("set_cloud_function_environment", asking(orphaned.function_uuid)))

    assert "No job serves the function yet; jobs receive the variables when they reach MATCHED." in unserved
    assert "was deleted" not in unserved
    assert "Its active job was deleted: Apillon saves the variables but answers JOB_NOT_FOUND" in deleted
    assert "No job serves the function yet" not in deleted


async def test_a_replacement_made_meanwhile_by_another_call_asks_again(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")
    await replace(mcp, function.function_uuid, {"FIRST": "1"})
    arguments = {"function_uuid": function.function_uuid, "variables": {"MINE": "1"}}
    mine = token_of(text(await mcp.call_tool("set_cloud_function_environment", arguments)))
    emulator.clock.advance(10)
    await replace(mcp, function.function_uuid, {"THEIRS": "1"})

    answer = await mcp.call_tool("set_cloud_function_environment", {**arguments, "confirmation_token": mine})

    assert text(answer).startswith("Confirmation required: The situation changed since that token was issued")
    assert emulator.functions[function.function_uuid].variables == [{"key": "THEIRS", "value": "1"}]


async def test_in_the_sandbox_the_answer_says_where_the_values_are_kept(mcp: Client, emulator: EmulatorState) -> None:
    function = emulator.create_function("fn")

    _, done = await replace(mcp, function.function_uuid, {"A": "1"})

    assert "The offline sandbox keeps the values in plain text in its state file" in done
    assert "Apillon stores them encrypted; they cannot be read back." not in done
