"""What a Google image, narration or video costs: a price table per model, overridable by environment.

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

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import cache

from contentgen.catalog import ModelEntry, find_model, media_price_table, today
from contentgen.config import MediaPrice, get_settings, parse_prices
from contentgen.errors import ConfigurationError
from contentgen.observability import logger

PRICES_SOURCE = "contentgen/catalog/models.json (each price cites its source and the date read)"


def default_prices() -> dict[str, MediaPrice]:
    """The catalog's media prices in force today, by model id."""
    return {
        model: MediaPrice(per_image=per_image, per_second=per_second)
        for model, (per_image, per_second) in media_price_table().items()
    }


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


def image_cost_bound(model: str, images: int = 1) -> Decimal:
    """The most `images` images from `model` cost (USD), for a reservation: exactly its price;
    `UnpricedModelError` without one (chains are `priced_chain` first)."""
    cost = image_cost(model, images)
    if cost is None:
        raise UnpricedModelError(f"service misconfigured: image model {model} has no price")
    return Decimal(str(cost))


def video_cost_bound(model: str, seconds: int) -> Decimal:
    """The most `seconds` seconds of video from `model` cost (USD), for a reservation: exactly its
    price; `UnpricedModelError` without one (chains are `priced_chain` first)."""
    cost = video_cost(model, seconds)
    if cost is None:
        raise UnpricedModelError(f"service misconfigured: video model {model} has no price")
    return Decimal(str(cost))


def video_cost(model: str, seconds: int) -> float | None:
    """USD for `seconds` seconds of video from `model`; None when the table has no per-second price."""
    price = price_table().get(_bare(model))
    if price is None or price.per_second is None:
        return None
    return float(price.per_second * seconds)


# --- upper bounds for reservations (contentgen.stores.ledger) ------------------------------------

# A chat completion's cost is what OpenRouter reports (`usage.cost`); the catalog's token prices
# (`contentgen/catalog/models.json`, each with its source and date) only bound it BEFORE the request,
# so a key's daily budget can reserve it (`text_cost_bound`). The catalog has no largest-answer figure:
# without `max_tokens` the bound assumes this many output tokens (over the 16,384 of the small OpenAI
# models' published limit, openai.com model pages read 2026-12-06).
LARGEST_ANSWER_TOKENS = 32_768
# Tokens per message beyond its text (role, separators) and per image input: generous over
# OpenAI's published accounting (3-4 per message; a high-detail 2048x2048 image 1,105 tokens).
MESSAGE_OVERHEAD_TOKENS = 8
IMAGE_INPUT_TOKENS = 2_000


class UnpricedModelError(ConfigurationError):
    """No model of a configured chain has a known price, so a daily budget cannot reserve what a
    request costs (503 `configuration_error`, naming the models and the fix)."""


# (model, day) -> the catalog entry it was read from and its token prices on that day: a warm
# generation asks for them about six times (the priced chain, the cost bound of each model that
# may answer). The entry is kept and compared, so a catalog read again is read again here too.
_day_prices: dict[tuple[str, date], tuple[ModelEntry | None, tuple[Decimal, Decimal] | None]] = {}


def _token_prices(model: str) -> tuple[Decimal, Decimal] | None:
    entry, day = find_model(model), today()
    known = _day_prices.get((model, day))
    if known is not None and known[0] is entry:
        return known[1]
    if len(_day_prices) >= 1024:
        _day_prices.clear()  # another day, or many ids: start again
    prices = _read_token_prices(entry, day)
    _day_prices[(model, day)] = (entry, prices)
    return prices


def _read_token_prices(entry: ModelEntry | None, day: date) -> tuple[Decimal, Decimal] | None:
    price = entry.price_on(day) if entry is not None else None
    if price is None or price.input_per_million_tokens is None or price.output_per_million_tokens is None:
        return None
    return price.input_per_million_tokens, price.output_per_million_tokens


def has_text_price(model: str) -> bool:
    """Whether the catalog prices `model`'s input and output tokens today."""
    return _token_prices(model) is not None


def has_image_price(model: str) -> bool:
    """Whether the price table (catalog + MEDIA_PRICES_JSON) has a per-image price for `model`."""
    return image_cost(model) is not None


def has_video_price(model: str) -> bool:
    """Whether the price table (catalog + MEDIA_PRICES_JSON) has a per-second price for `model`."""
    return video_cost(model, 1) is not None


def priced_chain(models: Sequence[str], priced: Callable[[str], bool], setting: str) -> tuple[str, ...]:
    """`models` without those that have no price: a request to one could cost anything, so no
    reservation bounds it and a budget would not hold (docs/spend.md). Each one left out is
    logged; a chain left empty raises `UnpricedModelError` naming `setting` (e.g. TEXT_MODEL)."""
    kept = tuple(model for model in models if priced(model))
    left_out = [model for model in models if model not in kept]
    if left_out:
        logger.warning(
            "model without a price not used: a budget cannot reserve its cost",
            extra={"models": left_out, "setting": setting},
        )
    if not kept:
        raise UnpricedModelError(
            f"service misconfigured: {setting}: no model of {', '.join(models)} has a price "
            "(contentgen/catalog/models.json, or MEDIA_PRICES_JSON for images and videos), so a "
            "daily budget cannot reserve what a request costs; configure a priced model"
        )
    return kept


def text_cost_bound(model: str, *, prompt_bytes: int, images: int, max_tokens: int | None) -> Decimal:
    """The most one chat completion from `model` can cost (USD): every UTF-8 byte of the prompt as a
    token (a byte-level BPE token covers at least one byte), each image at `IMAGE_INPUT_TOKENS`,
    and `max_tokens` (else the model's largest answer, `LARGEST_ANSWER_TOKENS`) at the output price.
    A model without a price has no bound: `UnpricedModelError` (chains are `priced_chain` first)."""
    prices = _token_prices(model)
    if prices is None:
        raise UnpricedModelError(f"service misconfigured: model {model} has no price in the model catalog")
    per_input, per_output = prices
    output = max_tokens if max_tokens is not None else LARGEST_ANSWER_TOKENS
    prompt = prompt_bytes + images * IMAGE_INPUT_TOKENS
    return (per_input * prompt + per_output * output) / Decimal(1_000_000)


# --- speech (Gemini TTS): tokens at the catalog's prices -----------------------------------------

# "Gemini represents each second of audio as 32 tokens" (https://ai.google.dev/gemini-api/docs/tokens,
# quoted at https://discuss.ai.google.dev/t/are-audio-output-tokens-equal-to-text-output-tokens/84379,
# read 2026-12-07).
AUDIO_TOKENS_PER_SECOND = 32
# The budget's bound for one narration (reserved before it is requested, settled at its real
# cost): the text read at half the usual 150 words a minute (DOMAIN.md), plus 10 s, as audio
# tokens; every UTF-8 byte of the text as an input token (as `text_cost_bound`).
SLOWEST_WORDS_PER_MINUTE = 75


def speech_cost(model: str, prompt_tokens: int | None, audio_tokens: int | None) -> float | None:
    """USD for a TTS answer from its token counts at the catalog's price of today (None: unpriced)."""
    entry = find_model(model)
    price = entry.price_on(today()) if entry is not None else None
    if price is None or price.audio_output_per_million_tokens is None:
        return None
    text_rate = price.input_per_million_tokens or 0
    cost = (prompt_tokens or 0) * text_rate + (audio_tokens or 0) * price.audio_output_per_million_tokens
    return float(cost / 1_000_000)


def speech_cost_bound(model: str, text: str) -> Decimal | None:
    """The most one narration of `text` by `model` is reserved at (USD; None: unpriced): see
    `SLOWEST_WORDS_PER_MINUTE`."""
    return speech_words_bound(model, words=len(text.split()), text_bytes=len(text.encode()))


def speech_words_bound(model: str, *, words: int, text_bytes: int) -> Decimal | None:
    """`speech_cost_bound` for a text not written yet: `words` words in `text_bytes` UTF-8 bytes."""
    seconds = words * 60 / SLOWEST_WORDS_PER_MINUTE + 10
    cost = speech_cost(model, text_bytes, round(seconds * AUDIO_TOKENS_PER_SECOND))
    return Decimal(str(cost)) if cost is not None else None
