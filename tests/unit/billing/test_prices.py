"""The Google image/video price table (contentgen.billing.prices): defaults, overrides, mistakes."""

from __future__ import annotations

import pytest

from contentgen.billing.prices import (
    UnpricedModelError,
    default_prices,
    has_image_price,
    has_text_price,
    has_video_price,
    image_cost,
    priced_chain,
    text_cost_bound,
    video_cost,
    video_cost_bound,
)
from contentgen.catalog import default_chain, image_price_usd, video_price_usd
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError

IMAGE = default_chain("image")[0]
VIDEO = default_chain("video")[0]
RETIRED_IMAGE = "imagen-4.0-generate-001"  # shut down 2026-08-17: still priced for old records


def test_defaults_are_the_catalogs_list_prices() -> None:
    per_image, per_second = image_price_usd(IMAGE), video_price_usd(VIDEO)
    assert per_image is not None
    assert per_second is not None
    assert image_cost(IMAGE) == float(per_image)
    assert image_cost(IMAGE, 3) == float(per_image * 3)
    assert video_cost(VIDEO, 8) == float(per_second * 8)
    assert image_cost(RETIRED_IMAGE) == 0.04, "a retired model keeps the price it was billed at"


def test_a_resource_name_is_priced_by_its_model_id() -> None:
    assert image_cost(f"publishers/google/models/{IMAGE}") == image_cost(IMAGE)
    assert image_cost(f"models/{IMAGE}") == image_cost(IMAGE)


def test_unknown_models_and_wrong_units_have_no_cost() -> None:
    assert image_cost("imagen-9-unreleased") is None
    assert video_cost(IMAGE, 8) is None, "an image model has no per-second price"
    assert image_cost(VIDEO) is None


def test_the_environment_overrides_and_adds_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MEDIA_PRICES_JSON",
        f'{{"{IMAGE}": {{"per_image": "0.05"}}, "my-veo": {{"per_second": 0.1}}}}',
    )
    get_settings.cache_clear()

    assert image_cost(IMAGE) == 0.05
    assert video_cost("my-veo", 7) == 0.7
    assert video_cost(VIDEO, 2) == float(video_price_usd(VIDEO) or 0) * 2, "other defaults stay"
    assert default_prices()[IMAGE].per_image is not None


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
        image_cost(IMAGE)


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


def test_a_model_without_a_price_is_left_out_of_its_chain_and_a_chain_of_none_is_refused() -> None:
    """No reservation bounds what an unpriced model costs: it is never asked (docs/spend.md)."""
    priced_text = default_chain("text")[0]
    assert priced_chain(["acme/unknown-1", priced_text], has_text_price, "TEXT_MODEL") == (priced_text,)
    with pytest.raises(UnpricedModelError, match="TEXT_MODEL: no model of openai/gpt-4o, acme/unknown-1"):
        priced_chain(["openai/gpt-4o", "acme/unknown-1"], has_text_price, "TEXT_MODEL")
    with pytest.raises(UnpricedModelError):
        text_cost_bound("acme/unknown-1", prompt_bytes=0, images=0, max_tokens=10)
    with pytest.raises(UnpricedModelError):
        priced_chain(["acme/unpriced-image"], has_image_price, "IMAGE_MODEL")
    with pytest.raises(UnpricedModelError):
        video_cost_bound("acme/unpriced-video", 8)
    priced = default_chain("video")[0]
    assert priced_chain([priced], has_video_price, "VIDEO_MODEL") == (priced,)
    assert video_cost_bound(priced, 8) == video_price_usd(priced) * 8  # type: ignore[operator]
