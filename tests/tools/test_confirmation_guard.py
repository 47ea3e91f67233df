"""The confirmation guard on its own: its key, its tokens' format and what it remembers of those it accepted."""

import base64
import hashlib
import hmac

import mcp.types as types
import pytest

from apillon_mcp.confirm import ConfirmationGuard, Effect, Fact, TokenRefused, can_elicit, changed_facts

EFFECT = Effect("Delete job v1.", (Fact("job v1", "serving"),))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_shorter_than_16_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ConfirmationGuard(b"k" * 15)

    ConfirmationGuard(b"k" * 16)


def test_a_used_token_is_remembered_until_it_expires_then_forgotten() -> None:
    clock = Clock()
    guard = ConfirmationGuard(b"k" * 32, clock=clock)
    first = guard.issue("delete", {"job": "a"}, EFFECT)
    guard.redeem("delete", {"job": "a"}, first)
    assert guard.remembered == 1
    with pytest.raises(TokenRefused, match="already used"):
        guard.redeem("delete", {"job": "a"}, first)

    clock.now += 300
    second = guard.issue("delete", {"job": "b"}, EFFECT)
    guard.redeem("delete", {"job": "b"}, second)

    assert guard.remembered == 1


def test_many_confirmations_over_time_leave_only_the_live_tokens_remembered() -> None:
    clock = Clock()
    guard = ConfirmationGuard(b"k" * 32, clock=clock)
    for n in range(50):
        token = guard.issue("delete", {"job": n}, EFFECT)
        guard.redeem("delete", {"job": n}, token)
        clock.now += 60

    assert guard.remembered == 5


def test_a_change_of_what_the_effect_is_about_is_named_whole() -> None:
    before = (Fact("job v1", "serving"),)

    assert changed_facts(before, Effect("", (Fact("job v1", "serving"),))) == ""
    assert changed_facts(before, Effect("", (Fact("job v1", "deleted"),))) == "job v1 was serving, now deleted"
    assert changed_facts(before, Effect("", (Fact("job v2", "serving"),))) == (
        "what it acts on is not the same any more: job v2: serving"
    )


def test_a_token_for_any_number_of_facts_up_to_64_is_accepted() -> None:
    """Each length of token, whatever padding its encoding leaves out, from an effect on nothing to 64 jobs."""
    guard = ConfirmationGuard(b"k" * 32)
    many = tuple(Fact(f"job {n}", "serving") for n in range(64))

    for count in range(65):
        token = guard.issue("delete", {"jobs": count}, Effect("", many[:count]))
        assert len(guard.redeem("delete", {"jobs": count}, token).fact_tags) == count
    with pytest.raises(ValueError, match="at most 64 facts"):
        guard.issue("delete", {}, Effect("", (*many, Fact("one more", "serving"))))


def test_a_token_stripped_of_its_prefix_is_not_accepted() -> None:
    guard = ConfirmationGuard(b"k" * 32)
    token = guard.issue("delete", {}, EFFECT)

    with pytest.raises(TokenRefused, match="not a token this server issued"):
        guard.redeem("delete", {}, token.removeprefix("ct2."))


def test_only_the_canonical_spelling_of_a_token_is_accepted() -> None:
    """The last character of a token whose length is not a multiple of 4 has unused bits: a token that differs only
    there decodes to the same bytes, and is refused all the same."""
    guard = ConfirmationGuard(b"k" * 32)
    effect = Effect("", (Fact("job a", "serving"), Fact("job b", "serving")))
    token = guard.issue("delete", {}, effect)
    assert len(token.removeprefix("ct2.")) % 4 == 2
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    twin = token[:-1] + alphabet[last + 1 if last % 16 != 15 else last - 1]

    with pytest.raises(TokenRefused, match="not a token this server issued"):
        guard.redeem("delete", {}, twin)
    assert guard.redeem("delete", {}, token).fact_tags


def signed(key: bytes, blob: bytes) -> str:
    """A token as the server spells one (prefix, URL-safe base64 without padding, a 16-byte HMAC)."""
    mac = hmac.digest(key, b"token\0" + blob, hashlib.sha256)[:16]
    return "ct2." + base64.urlsafe_b64encode(blob + mac).decode().rstrip("=")


@pytest.mark.parametrize("change", ["version", "fact count"])
def test_a_signed_token_of_another_layout_is_refused_as_incompatible(change: str) -> None:
    """What a replica running another version of the token format would send: signed with the shared key."""
    key = b"k" * 32
    guard = ConfirmationGuard(key)
    token = guard.issue("delete", {}, EFFECT)
    raw = base64.urlsafe_b64decode(token.removeprefix("ct2.") + "=" * (-len(token) % 4))
    blob = bytearray(raw[:-16])
    if change == "version":
        blob[0] = 3
    else:
        blob[21] = 2  # says two facts, carries one

    with pytest.raises(TokenRefused, match="incompatible version"):
        guard.redeem("delete", {}, signed(key, bytes(blob)))


@pytest.mark.parametrize(
    ("elicitation", "form"),
    [
        (None, False),
        (types.ElicitationCapability(), True),
        (types.ElicitationCapability(form=types.FormElicitationCapability()), True),
        (types.ElicitationCapability(url=types.UrlElicitationCapability()), False),
        (
            types.ElicitationCapability(form=types.FormElicitationCapability(), url=types.UrlElicitationCapability()),
            True,
        ),
    ],
    ids=["none", "empty", "form", "url-only", "both"],
)
def test_a_form_is_shown_only_to_clients_that_declare_form_elicitation(
    elicitation: types.ElicitationCapability | None, form: bool
) -> None:
    assert can_elicit(types.ClientCapabilities(elicitation=elicitation)) is form


def test_facts_of_another_number_than_the_token_was_issued_for_are_a_change_of_subjects() -> None:
    guard = ConfirmationGuard(b"k" * 32)
    claim = guard.redeem("delete", {}, guard.issue("delete", {}, EFFECT))
    now = Effect("", (Fact("job v1", "serving"), Fact("job v2", "serving")))

    assert guard.changes(claim, now) == "what it acts on is not the same any more: job v1: serving; job v2: serving"
    assert guard.changes(claim, EFFECT) == ""
    assert guard.changes(claim, Effect("", (Fact("job v1", "deleted"),))) == "job v1 is now deleted"


@pytest.mark.parametrize("token", ["ct2.A", "ct2.AAAAA", "ct2.", "ct2.====", "ct2.é"])
def test_a_token_that_is_not_base64_of_the_right_length_is_refused(token: str) -> None:
    with pytest.raises(TokenRefused, match="not a token this server issued"):
        ConfirmationGuard(b"k" * 32).redeem("delete", {}, token)
