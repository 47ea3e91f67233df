"""Configuration from the environment (the names the official Apillon SDK and CLI use), overridable by flags."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from apillon_mcp.apillon import DEFAULT_API_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("api_key", "APILLON_API_KEY"))
    api_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_secret", "APILLON_API_SECRET")
    )
    api_url: str = Field(default=DEFAULT_API_URL, validation_alias=AliasChoices("api_url", "APILLON_API_URL"))
    emulator: bool = Field(default=False, validation_alias=AliasChoices("emulator", "APILLON_EMULATOR"))
    transport: Literal["stdio", "http"] = "stdio"
    confirmation_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("confirmation_key", "APILLON_MCP_CONFIRMATION_KEY"),
        description="HMAC key for confirmation tokens: the same on every replica. Random per process if unset.",
    )

    def missing_credentials(self) -> list[str]:
        """The credential variables a live (non-emulator) server still needs."""
        if self.emulator:
            return []
        missing = []
        if self.api_key is None or not self.api_key.get_secret_value():
            missing.append("APILLON_API_KEY")
        if self.api_secret is None or not self.api_secret.get_secret_value():
            missing.append("APILLON_API_SECRET")
        return missing
