"""The confirmation guard on its own: the key it needs, and what it remembers of the tokens it accepted."""

import pytest

from apillon_mcp.confirm import ConfirmationGuard, Effect, Fact, TokenRefused

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
