"""Every setting can be given as the environment variable the documentation names."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from voicebot.config import Settings, load_settings
from voicebot.errors import ConfigError


def written(value: object) -> str:
    """A value as an administrator writes it in the environment or the .env file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settable() -> list[tuple[str, object]]:
    defaults = Settings()
    fields = []
    for name in Settings.model_fields:
        value = getattr(defaults, name)
        if value is None or isinstance(value, SecretStr | dict | list | tuple):
            continue
        fields.append((name, value))
    return fields


@pytest.mark.parametrize(("name", "value"), settable())
def test_each_setting_is_read_from_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: object
) -> None:
    monkeypatch.setenv(f"VOICEBOT_{name.upper()}", written(value))
    assert getattr(load_settings(), name) == value


def test_the_audiosocket_rate_is_a_telephone_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEBOT_AUDIOSOCKET_RATE_HZ", "16000")
    assert load_settings().audiosocket_rate_hz == 16000
    monkeypatch.setenv("VOICEBOT_AUDIOSOCKET_RATE_HZ", "11025")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "VOICEBOT_AUDIOSOCKET_RATE_HZ" in str(error.value) and "8000 ou 16000" in str(
        error.value
    )
