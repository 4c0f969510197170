"""What a Google image or video costs: a price table per model, overridable by environment.

OpenRouter reports the cost of every chat completion itself (`usage.cost`, USD, with usage
accounting on); Google's image and video APIs report none, so their cost is computed here:
USD per image for image models, USD per second of generated video for Veo models.

Default prices come from the model catalog (`contentgen.catalog`, `models.json`): Google's list
prices (paid tier, standard, not batch) per image (1K) or per second of video, each with its
source and the date it was read.

`MEDIA_PRICES_JSON` replaces or adds entries, e.g.
`{"my-image-model": {"per_image": 0.04}, "my-video-model": {"per_second": 0.4}}`;
a model in neither has no known cost (`cost_usd` null in the answer and the log line).
The override is validated with the settings (`contentgen.config`), so a malformed one (not JSON,
a price that is negative, not finite, not a number or over `MAX_PRICE_USD`) is a 503
`configuration_error` naming the variable before any provider request, never after one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

from contentgen.catalog import media_price_table
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError

# No Google image or second of video costs anywhere near this; a bound keeps every cost finite.
MAX_PRICE_USD = Decimal(1000)

PRICES_SOURCE = "contentgen/catalog/models.json (each price cites its source and the date read)"


@dataclass(frozen=True)
class MediaPrice:
    """USD per generated image and/or per second of generated video."""

    per_image: Decimal | None = None
    per_second: Decimal | None = None


def default_prices() -> dict[str, MediaPrice]:
    """The catalog's media prices in force today, by model id."""
    return {
        model: MediaPrice(per_image=per_image, per_second=per_second)
        for model, (per_image, per_second) in media_price_table().items()
    }


def _price(model: str, entry: object) -> MediaPrice:
    if not isinstance(entry, dict) or not set(entry) <= {"per_image", "per_second"}:
        raise ValueError(f"{model}: expected an object with per_image and/or per_second")
    values: dict[str, Decimal] = {}
    for unit, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{model}.{unit}: expected a number")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{model}.{unit}: expected a number") from None
        if not amount.is_finite() or not 0 <= amount <= MAX_PRICE_USD:
            raise ValueError(f"{model}.{unit}: expected a number from 0 to {MAX_PRICE_USD} (USD)")
        values[unit] = amount
    return MediaPrice(**values)


def parse_prices(override: str) -> dict[str, MediaPrice]:
    """The entries of a `MEDIA_PRICES_JSON` value; `ValueError` naming the entry when malformed
    (called by `contentgen.config.Settings` when the settings load)."""
    try:
        entries = json.loads(override)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(entries, dict):
        raise ValueError("expected a JSON object of model ids")
    return {str(model): _price(str(model), entry) for model, entry in entries.items()}


@cache
def _table(override: str | None) -> dict[str, MediaPrice]:
    table = default_prices()
    if override:
        try:
            table.update(parse_prices(override))
        except ValueError as exc:
            raise ConfigurationError(
                f"service misconfigured: environment variable MEDIA_PRICES_JSON: {exc}"
            ) from None
    return table


def price_table() -> dict[str, MediaPrice]:
    """The defaults with MEDIA_PRICES_JSON applied; `ConfigurationError` (503) when it is malformed."""
    return _table(get_settings().media_prices_json)


def _bare(model: str) -> str:
    """`models/X` or `publishers/google/models/X` → `X`."""
    return model.rsplit("/", 1)[-1]


def image_cost(model: str, images: int = 1) -> float | None:
    """USD for `images` images from `model`; None when the table has no per-image price for it."""
    price = price_table().get(_bare(model))
    if price is None or price.per_image is None:
        return None
    return float(price.per_image * images)


def video_cost(model: str, seconds: int) -> float | None:
    """USD for `seconds` seconds of video from `model`; None when the table has no per-second price."""
    price = price_table().get(_bare(model))
    if price is None or price.per_second is None:
        return None
    return float(price.per_second * seconds)
