from __future__ import annotations

import pytest
from pydantic import ValidationError

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


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GOOGLE_CLOUD_PROJECT", "a/../b"),
        ("GOOGLE_CLOUD_PROJECT", "My-Project"),
        ("GOOGLE_CLOUD_PROJECT", "short"),
        ("GOOGLE_CLOUD_LOCATION", "us central1"),
        ("GOOGLE_CLOUD_LOCATION", "us-central1/../x"),
    ],
)
def test_a_google_cloud_project_or_location_that_cannot_be_in_vertex_urls_is_refused(
    variable: str, value: str
) -> None:
    """Both go into Vertex AI's project-scoped URL: a value no project id / region can be is a
    settings error naming the variable, not a request to a made-up path."""
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({variable: value})
    assert variable in str(refused.value)


def test_a_google_cloud_project_and_location_are_kept_and_blank_is_unset() -> None:
    settings = Settings.model_validate(
        {"GOOGLE_CLOUD_PROJECT": "my-project-123", "GOOGLE_CLOUD_LOCATION": "us-central1"}
    )
    assert (settings.google_cloud_project, settings.google_cloud_location) == (
        "my-project-123",
        "us-central1",
    )
    assert Settings.model_validate({"GOOGLE_CLOUD_PROJECT": " "}).google_cloud_project is None
