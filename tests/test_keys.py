"""The server's keys: one configured secret signs confirmation tokens and seals the SDK's request state."""

from pydantic import SecretStr

from apillon_mcp.keys import ServerKeys


def test_a_sealed_form_state_expires_with_the_form() -> None:
    """The SDK would otherwise accept a form's reply for its own default lifetime (600 s), past the form's."""
    keys = ServerKeys.from_setting(SecretStr("a shared confirmation key of 32+ bytes"))

    security = keys.request_state_security(ttl=42, per_caller=False)

    assert security.ttl == 42
    assert security.bind_principal is None


def test_the_same_secret_gives_every_replica_the_same_keys_and_none_gives_a_fresh_one() -> None:
    secret = SecretStr("a shared confirmation key of 32+ bytes")

    assert ServerKeys.from_setting(secret) == ServerKeys.from_setting(secret)
    assert ServerKeys.from_setting(None) != ServerKeys.from_setting(None)
    assert ServerKeys.from_setting(secret).confirmation != ServerKeys.from_setting(secret).request_state
