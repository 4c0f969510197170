from __future__ import annotations

import pytest

from contentgen.config import DEFAULT_OPENROUTER_BASE_URL, Settings, get_settings
from contentgen.errors import ConfigurationError


def test_defaults_when_only_required_nothing_is_set() -> None:
    settings = Settings.from_environ({})

    assert settings.openrouter_base_url == DEFAULT_OPENROUTER_BASE_URL
    assert settings.openrouter_api_key_param is None
    assert settings.provider_timeout_seconds < 29, "one attempt must fit under API Gateway's 29 s"
    assert settings.provider_max_attempts >= 1


def test_reads_contract_variables() -> None:
    settings = Settings.from_environ(
        {
            "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1/",
            "OPENROUTER_API_KEY_PARAM": "/contentgen/openrouter-api-key",
            "GOOGLE_GENAI_USE_VERTEXAI": "true",
            "TEXT_MODEL": "anthropic/claude-haiku",
            "MEDIA_BUCKET": "media",
            "PROVIDER_MAX_ATTEMPTS": "5",
        }
    )

    assert settings.openrouter_base_url == "http://127.0.0.1:9/api/v1"
    assert settings.openrouter_api_key_param == "/contentgen/openrouter-api-key"
    assert settings.google_use_vertexai is True
    assert settings.text_model == "anthropic/claude-haiku"
    assert settings.media_bucket == "media"
    assert settings.provider_max_attempts == 5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PROVIDER_MAX_ATTEMPTS", "many"),
        ("PROVIDER_MAX_ATTEMPTS", "0"),
        ("PROVIDER_TIMEOUT_SECONDS", "-1"),
        ("OPENROUTER_BASE_URL", "openrouter.ai"),
        ("GOOGLE_GENAI_USE_VERTEXAI", "perhaps"),
        ("TEXT_MODEL", ""),
    ],
)
def test_malformed_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({variable: value})

    assert variable in caught.value.message
    assert caught.value.status_code == 503


def test_blank_parameter_name_means_unset() -> None:
    assert Settings.from_environ({"OPENROUTER_API_KEY_PARAM": "  "}).openrouter_api_key_param is None


def test_settings_are_built_once_per_container_and_a_failure_is_not_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "lots")
    with pytest.raises(ConfigurationError):
        get_settings()

    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "2")
    first = get_settings()
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "7")

    assert first.provider_max_attempts == 2
    assert get_settings() is first
