"""What a Google image or video costs: a price table per model, overridable by environment.

OpenRouter reports the cost of every chat completion itself (`usage.cost`, USD, with usage
accounting on); Google's image and video APIs report none, so their cost is computed here:
USD per image for image models, USD per second of generated video for Veo models.

Default prices are Google's published list prices (paid tier, standard, not batch), from
https://ai.google.dev/gemini-api/docs/pricing and
https://cloud.google.com/vertex-ai/generative-ai/pricing, as read on 2026-11-30:

| model | price |
| --- | --- |
| `imagen-4.0-fast-generate-001` | 0.02 USD per image |
| `imagen-4.0-generate-001` | 0.04 USD per image |
| `imagen-4.0-ultra-generate-001` | 0.06 USD per image |
| `imagen-3.0-generate-002` | 0.03 USD per image |
| `gemini-2.5-flash-image` (and its preview) | 0.039 USD per image (1,290 output tokens at 30 USD per million) |
| `veo-3.0-generate-001`, `veo-3.1-generate-001` | 0.40 USD per second (video with audio) |
| `veo-3.0-fast-generate-001`, `veo-3.1-fast-generate-001` | 0.15 USD per second (video with audio) |
| `veo-2.0-generate-001` | 0.35 USD per second |

`MEDIA_PRICES_JSON` replaces or adds entries, e.g.
`{"imagen-4.0-generate-001": {"per_image": 0.04}, "veo-3.0-generate-001": {"per_second": 0.4}}`;
a model in neither has no known cost (`cost_usd` null in the answer and the log line).
The override is validated with the settings (`contentgen.config`), so a malformed one (not JSON,
a price that is negative, not finite, not a number or over `MAX_PRICE_USD`) is a 503
`configuration_error` naming the variable before any provider request, never after one.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from contentgen.config import MediaPrice, get_settings, parse_prices
from contentgen.errors import ConfigurationError

PRICES_SOURCE = "https://ai.google.dev/gemini-api/docs/pricing (read 2026-11-30)"


DEFAULT_PRICES: dict[str, MediaPrice] = {
    "imagen-4.0-fast-generate-001": MediaPrice(per_image=Decimal("0.02")),
    "imagen-4.0-generate-001": MediaPrice(per_image=Decimal("0.04")),
    "imagen-4.0-ultra-generate-001": MediaPrice(per_image=Decimal("0.06")),
    "imagen-3.0-generate-002": MediaPrice(per_image=Decimal("0.03")),
    "gemini-2.5-flash-image": MediaPrice(per_image=Decimal("0.039")),
    "gemini-2.5-flash-image-preview": MediaPrice(per_image=Decimal("0.039")),
    "veo-3.0-generate-001": MediaPrice(per_second=Decimal("0.40")),
    "veo-3.1-generate-001": MediaPrice(per_second=Decimal("0.40")),
    "veo-3.0-fast-generate-001": MediaPrice(per_second=Decimal("0.15")),
    "veo-3.1-fast-generate-001": MediaPrice(per_second=Decimal("0.15")),
    "veo-2.0-generate-001": MediaPrice(per_second=Decimal("0.35")),
}


@cache
def _table(override: str | None) -> dict[str, MediaPrice]:
    table = dict(DEFAULT_PRICES)
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
    """`models/imagen-4.0-generate-001` or `publishers/google/models/...` → the model id."""
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


# --- upper bounds for reservations (contentgen.stores.ledger) ------------------------------------

# OpenRouter's list prices (USD per million tokens, input / output) and the model's largest answer
# (max output tokens), read 2026-12-06 from https://openrouter.ai/openai/gpt-4o-mini (0.15 / 0.60,
# 16,384 max output tokens; the same figures the local emulator bills). A chat completion's cost
# is what OpenRouter reports (`usage.cost`); these only bound it BEFORE the request, so a key's
# daily budget can reserve it (`text_cost_bound`).
TEXT_PRICES: dict[str, tuple[Decimal, Decimal, int]] = {
    "openai/gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"), 16_384),
}
# A text model missing from TEXT_PRICES reserves this much per request: more than one answer of
# 16,384 tokens at 6 USD per million output tokens costs (0.098 USD), so a budget still holds.
UNPRICED_TEXT_BOUND_USD = Decimal("0.10")
# Tokens per message beyond its text (role, separators) and per image input: generous over
# OpenAI's published accounting (3-4 per message; a high-detail 2048x2048 image 1,105 tokens).
MESSAGE_OVERHEAD_TOKENS = 8
IMAGE_INPUT_TOKENS = 2_000


def text_cost_bound(model: str, *, prompt_bytes: int, images: int, max_tokens: int | None) -> Decimal:
    """The most one chat completion from `model` can cost (USD): every UTF-8 byte of the prompt as a
    token (a byte-level BPE token covers at least one byte), each image at `IMAGE_INPUT_TOKENS`,
    and `max_tokens` (else the model's largest answer) at the output price. A model without a
    price bounds at `UNPRICED_TEXT_BOUND_USD`."""
    price = TEXT_PRICES.get(model)
    if price is None:
        return UNPRICED_TEXT_BOUND_USD
    per_input, per_output, largest = price
    output = min(max_tokens, largest) if max_tokens is not None else largest
    prompt = prompt_bytes + images * IMAGE_INPUT_TOKENS
    return (per_input * prompt + per_output * output) / Decimal(1_000_000)
