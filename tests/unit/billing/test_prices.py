"""The Google image/video price table (contentgen.billing.prices): defaults, overrides, mistakes."""

from __future__ import annotations

import pytest

from contentgen.billing.prices import DEFAULT_PRICES, image_cost, video_cost
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError


def test_defaults_are_googles_list_prices() -> None:
    assert image_cost("imagen-4.0-generate-001") == 0.04
    assert image_cost("imagen-4.0-fast-generate-001") == 0.02
    assert image_cost("gemini-2.5-flash-image") == 0.039
    assert video_cost("veo-3.0-generate-001", 8) == 3.2
    assert video_cost("veo-3.0-fast-generate-001", 4) == 0.6


def test_a_resource_name_is_priced_by_its_model_id() -> None:
    assert image_cost("publishers/google/models/imagen-4.0-generate-001") == 0.04


def test_unknown_models_and_wrong_units_have_no_cost() -> None:
    assert image_cost("imagen-9-unreleased") is None
    assert video_cost("imagen-4.0-generate-001", 8) is None, "an image model has no per-second price"
    assert image_cost("veo-3.0-generate-001") is None


def test_the_environment_overrides_and_adds_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MEDIA_PRICES_JSON",
        '{"imagen-4.0-generate-001": {"per_image": "0.05"}, "my-veo": {"per_second": 0.1}}',
    )
    get_settings.cache_clear()

    assert image_cost("imagen-4.0-generate-001") == 0.05
    assert video_cost("my-veo", 7) == 0.7
    assert image_cost("gemini-2.5-flash-image") == 0.039, "other defaults stay"
    assert DEFAULT_PRICES["imagen-4.0-generate-001"].per_image is not None


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        "[1]",
        '{"m": 1}',
        '{"m": {"per_token": 1}}',
        '{"m": {"per_image": -1}}',
        '{"m": {"per_image": true}}',
        '{"m": {"per_image": "abc"}}',
        '{"m": {"per_image": "1e400"}}',
        '{"m": {"per_image": 1e400}}',
        '{"m": {"per_image": NaN}}',
        '{"m": {"per_second": "Infinity"}}',
    ],
)
def test_a_malformed_override_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MEDIA_PRICES_JSON", value)
    get_settings.cache_clear()

    with pytest.raises(ConfigurationError, match="MEDIA_PRICES_JSON"):
        image_cost("imagen-4.0-generate-001")


@pytest.mark.parametrize("value", ["{bad", '{"m": {"per_image": -1}}', '{"m": {"per_image": "1e400"}}'])
def test_a_malformed_override_fails_when_the_settings_load(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Before any provider request (the call policy reads the settings first), never after one."""
    monkeypatch.setenv("MEDIA_PRICES_JSON", value)
    get_settings.cache_clear()

    with pytest.raises(ConfigurationError, match="MEDIA_PRICES_JSON"):
        get_settings()


def test_the_largest_accepted_price_gives_a_finite_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_PRICES_JSON", '{"m": {"per_second": 1000}}')
    get_settings.cache_clear()

    assert video_cost("m", 8) == 8000.0
