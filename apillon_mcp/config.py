"""Configuration from the environment (the names the official Apillon SDK and CLI use), overridable by flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from apillon_mcp.apillon import DEFAULT_API_URL
from apillon_mcp.apillon.retry import RetryPolicy
from apillon_mcp.loopback import is_loopback

Names = Annotated[tuple[str, ...] | None, NoDecode]

MIN_CONFIRMATION_KEY_BYTES = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias="APILLON_API_KEY")
    api_secret: SecretStr | None = Field(default=None, validation_alias="APILLON_API_SECRET")
    api_url: str = Field(default=DEFAULT_API_URL, validation_alias="APILLON_API_URL")
    emulator: bool = Field(default=False, validation_alias="APILLON_EMULATOR")
    emulator_state: Path | None = Field(default=None, validation_alias="APILLON_EMULATOR_STATE")
    read_only: bool = Field(default=False, validation_alias="APILLON_READ_ONLY")
    tools: Names = Field(default=None, validation_alias="APILLON_TOOLS")
    transport: Literal["stdio", "http"] = Field(default="stdio", validation_alias="APILLON_MCP_TRANSPORT")
    host: str = Field(default="127.0.0.1", validation_alias="APILLON_MCP_HOST")
    port: int = Field(default=8000, ge=0, le=65535, validation_alias="APILLON_MCP_PORT")
    http_token: SecretStr | None = Field(default=None, validation_alias="APILLON_MCP_TOKEN")
    allowed_hosts: Names = Field(default=None, validation_alias="APILLON_MCP_ALLOWED_HOSTS")
    per_request_credentials: bool = Field(default=False, validation_alias="APILLON_MCP_PER_REQUEST_CREDENTIALS")
    elicitation_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        validation_alias="APILLON_MCP_ELICITATION_TIMEOUT",
    )
    retry_attempts: int = Field(default=4, ge=1, le=10, validation_alias="APILLON_MCP_RETRY_ATTEMPTS")
    retry_max_seconds: float = Field(default=20.0, ge=0, le=300, validation_alias="APILLON_MCP_RETRY_MAX_SECONDS")
    spending_cap_credits: int | None = Field(
        default=None,
        ge=0,
        validation_alias="APILLON_MCP_SPENDING_CAP",
        description="Most credits this server process may spend on new jobs; unset: no cap of its own.",
    )
    confirmation_key: SecretStr | None = Field(
        default=None,
        validation_alias="APILLON_MCP_CONFIRMATION_KEY",
        description="HMAC key for confirmation tokens: the same on every replica. Random per process if unset.",
    )

    @field_validator("tools", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("tools")
    @classmethod
    def _names_a_tool(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # An empty selection would serve a server with no tools at all, which is never what was meant.
        if value is not None and not value:
            raise ValueError("names no tool: list the tools to register (a,b,c), or leave it unset for all of them")
        return value

    @field_validator("confirmation_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_CONFIRMATION_KEY_BYTES:
            raise ValueError(
                f"is too short: use at least {MIN_CONFIRMATION_KEY_BYTES} random bytes, the same on every replica "
                "(e.g. the output of `openssl rand -hex 32`)"
            )
        return value

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable that sets `field`."""
        alias = cls.model_fields[field].validation_alias
        assert isinstance(alias, str)
        return alias

    @classmethod
    def field_named(cls, name: str) -> str | None:
        """The field `name` stands for: a field's own name, or its environment variable (as errors locate it)."""
        if name in cls.model_fields:
            return name
        return next((field for field, info in cls.model_fields.items() if info.validation_alias == name), None)

    def missing_credentials(self) -> list[str]:
        """The credential variables still unset for using the live API on a key of this configuration's own."""
        if self.emulator:
            return []
        missing = []
        if self.api_key is None or not self.api_key.get_secret_value():
            missing.append("APILLON_API_KEY")
        if self.api_secret is None or not self.api_secret.get_secret_value():
            missing.append("APILLON_API_SECRET")
        return missing

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(attempts=self.retry_attempts, max_wait=self.retry_max_seconds)

    @property
    def loopback_only(self) -> bool:
        return is_loopback(self.host)
