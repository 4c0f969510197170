"""The one place that knows how each provider says "this model is gone" (retired, unknown, no
endpoint left): every documented or publicly reported wording, with its source and the date it
was read, as a pattern the connectors classify with (`gone_model`) and an example the provider
emulator answers with (`GoneWording.example`, `local.emulator_catalog`).

A wording that names the model gives its bare id (`GoneMatch.model`); one that does not ("This
model is no longer available to new users.") means the model that was asked.

The Gemini API's 404 "models/X is not found for API version v1beta, or is not supported for
predictLongRunning" is ALSO what a free-tier key gets for a live paid-only model
(google-gemini/cookbook#706, 2025-04-18: "Veo is a paid only feature ... I just tested with a free
API key and got the same error message"): that wording is `ambiguous`, and the call policy asks
`models.get` (free metadata) before calling the model gone (`contentgen.core.retry`).

`REFUSALS` are the other side: answers in which the provider declines THIS request or THIS key for
a model that exists (OpenRouter's "No endpoints found that can handle the requested parameters.",
an upstream's "Unsupported parameter: 'temperature' ...", Gemini's "doesn't have a free quota
tier"). The next model of the chain is tried; nothing is remembered, nothing counted as gone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

GoneProvider = Literal["google", "openrouter"]


@dataclass(frozen=True)
class GoneWording:
    """One provider wording for a model it no longer serves: the HTTP status it comes with, the
    pattern that recognises it (group `model`, when the wording names one), an example message
    for `model` (what the emulator answers), and the public source with the date read."""

    name: str
    provider: GoneProvider
    status: int
    pattern: re.Pattern[str]
    example: Callable[[str], str]
    source: str
    read: str
    # What else the wording is used for, when it is not only "gone" (the call policy then confirms).
    ambiguous: str | None = None
    # The wording names no resource: it means the model only in answer to a request made TO the
    # model (`models/X:generateContent`, a start), not to an operation or a file.
    model_requests_only: bool = False


def _gemini_not_found(model: str) -> str:
    return (
        f"models/{model} is not found for API version v1beta, or is not supported for generateContent. "
        "Call ListModels to see the list of available models and their supported methods."
    )


def _vertex_not_found(model: str) -> str:
    return (
        f"Publisher Model `projects/p/locations/us-central1/publishers/google/models/{model}` was not found "
        "or your project does not have access to it. Please ensure you are using a valid model version. "
        "For more information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
    )


def _no_longer_available(model: str) -> str:
    return (
        f"This model models/{model} is no longer available. Please update your code to use a newer "
        "model for the latest features and improvements."
    )


def _no_longer_available_to_new_users(model: str) -> str:
    return (
        f"This model models/{model} is no longer available to new users. Please update your code to use "
        "a newer model for the latest features and improvements."
    )


def _unnamed_no_longer_available(model: str) -> str:
    return "This model is no longer available to new users. Use a newer model."


WORDINGS: tuple[GoneWording, ...] = (
    GoneWording(
        "gemini_not_found",
        "google",
        404,
        re.compile(r"models/(?P<model>[\w.\-]+) is not found for API version", re.IGNORECASE),
        _gemini_not_found,
        "https://github.com/continuedev/continue/issues/9939 (Gemini API, unknown or retired model)",
        "2026-12-06",
        ambiguous=(
            "also a live paid-only model asked with a free-tier key ('... or is not supported for "
            "predictLongRunning', https://github.com/google-gemini/cookbook/issues/706, read 2026-12-07)"
        ),
    ),
    GoneWording(
        "vertex_publisher_model_not_found",
        "google",
        404,
        # Vertex AI says this also for a model not served in the region or to the project: settled
        # with `models.get` before it is remembered; a running operation's check never consults it.
        re.compile(
            r"Publisher Model `?[^`\s]*?models/(?P<model>[^`\s/]+?)`? (?:was|is) not found", re.IGNORECASE
        ),
        _vertex_not_found,
        "https://github.com/genkit-ai/genkit/issues/4688 (Vertex AI, 'was not found or your project does not "
        "have access to it'); googleapis/python-aiplatform#3574 (the project-less path: 'Publisher Model "
        "`publishers/google/models/X` is not found.', read 2026-12-07)",
        "2026-12-06",
        ambiguous=(
            "also a model not served in the region or to the project ('or your project does not have access "
            "to it'); confirmed with `models.get` (the publisher model's metadata)"
        ),
    ),
    GoneWording(
        "google_requested_entity_not_found",
        "google",
        404,
        re.compile(r"^\s*Requested entity was not found\.?\s*$", re.IGNORECASE),
        lambda model: "Requested entity was not found.",
        "https://github.com/google-gemini/gemini-cli/issues/7507 ('When you pass an invalid model ... 404 "
        "Requested entity was not found.'); google-gemini/gemini-cli#13553; google-gemini/gemini-cli#4764",
        "2026-12-07",
        ambiguous="names nothing: also a model the key may not use; confirmed with `models.get`",
        model_requests_only=True,
    ),
    GoneWording(
        "no_longer_available",
        "google",
        404,
        re.compile(
            r"This model models/(?P<model>[\w.\-]+) is no longer available(?! to new users)", re.IGNORECASE
        ),
        _no_longer_available,
        "https://github.com/continuedev/continue/issues/12720 (a Gemini 3 preview, 2026-06-17); "
        "google/adk-docs#1840 (a Gemini 2.0 model, 2026-06-14); "
        "The-Pocket/PocketFlow-Tutorial-Codebase-Knowledge#175 (2026-02-18)",
        "2026-12-07",
    ),
    GoneWording(
        "no_longer_available_to_new_users",
        "google",
        404,
        re.compile(
            r"This model models/(?P<model>[\w.\-]+) is no longer available to new users", re.IGNORECASE
        ),
        _no_longer_available_to_new_users,
        "https://github.com/sohzm/cheating-daddy/issues/444 (a Gemini 2.5 model, 2026-07-20); "
        "kestra-io/docs#5168 (2026-07-16); datalab-to/marker#1009 (a Gemini 2.0 model, 2026-03-10); "
        "goruck/home-generative-agent#575, fixed in v3.33.1 (2026-08-28: Google withdrew a "
        "Gemini 2.5 Flash-Lite model from accounts not already using it)",
        "2026-12-07",
    ),
    GoneWording(
        "unnamed_no_longer_available",
        "google",
        404,
        re.compile(r"This model is no longer available", re.IGNORECASE),
        _unnamed_no_longer_available,
        "https://github.com/jt196/vanilla-cookbook/issues/421 (2026-09-16: '404 This model is no longer "
        "available to new users. Use <a newer model>...')",
        "2026-12-07",
    ),
    GoneWording(
        "openrouter_not_a_valid_model",
        "openrouter",
        400,
        re.compile(r"^\s*(?P<model>\S+) is not a valid model ID"),
        lambda model: f"{model} is not a valid model ID",
        "https://github.com/OpenRouterTeam/openrouter-examples/issues/74",
        "2026-12-06",
    ),
    GoneWording(
        "openrouter_model_not_available",
        "openrouter",
        404,
        re.compile(r"^\s*Model (?P<model>\S+) is not available\b"),
        lambda model: f"Model {model} is not available",
        "https://github.com/Pythagora-io/gpt-pilot/issues/883 (404 'Model <a retired Anthropic model> is not available')",
        "2026-12-07",
    ),
    GoneWording(
        "openrouter_model_not_available_400",
        "openrouter",
        400,
        re.compile(r"^\s*Model (?P<model>\S+) is not available\b"),
        lambda model: f"Model {model} is not available",
        "https://github.com/deeterbleater/deertick/issues/13 (400 'Model <a Meta model id> is not "
        "available')",
        "2026-12-07",
    ),
    GoneWording(
        "openrouter_no_endpoints_for_model",
        "openrouter",
        404,
        re.compile(r"No endpoints found for (?P<model>\S+?)\.?\s*$"),
        lambda model: f"No endpoints found for {model}.",
        "https://github.com/chatboxai/chatbox/issues/2743",
        "2026-12-06",
    ),
)
WORDING_NAMES = tuple(wording.name for wording in WORDINGS)


Refused = Literal["key", "request"]


@dataclass(frozen=True)
class RefusalWording:
    """A provider answer declining a model that exists: for this API key (`refused="key"`, e.g. a
    free-tier key and a paid-only model) or for this request as sent (`refused="request"`, e.g. a
    parameter none of the model's endpoints take). `statuses` it comes with, the `pattern` that
    recognises it (in the message or the upstream's own words), an `example` for a model id (what
    the emulator answers), and the public source with the date read."""

    name: str
    provider: GoneProvider
    statuses: tuple[int, ...]
    pattern: re.Pattern[str]
    refused: Refused
    example: Callable[[str], str]
    source: str
    read: str


REFUSALS: tuple[RefusalWording, ...] = (
    RefusalWording(
        "gemini_no_free_quota_tier",
        "google",
        (429,),
        re.compile(r"doesn't have a free quota tier", re.IGNORECASE),
        "key",
        lambda model: (
            f"{model} doesn't have a free quota tier. For more information on this error, head to: "
            "https://ai.google.dev/gemini-api/docs/rate-limits."
        ),
        "https://github.com/danny-avila/LibreChat/issues/7283 (2025-05-08, 429 '... Preview doesn't have a "
        "free quota tier'); google-gemini/gemini-fullstack-langgraph-quickstart#128 (2025-07-05)",
        "2026-12-07",
    ),
    RefusalWording(
        "gemini_free_tier_limit_zero",
        "google",
        (429,),
        re.compile(r"free_tier\w*, limit: 0\b", re.IGNORECASE),
        "key",
        lambda model: (
            "You exceeded your current quota, please check your plan and billing details. For more "
            "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. \n"
            "* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, "
            f"limit: 0, model: {model}"
        ),
        "https://github.com/googleapis/js-genai/issues/1322 (2026-02-12, an image model at 'limit: 0' on a "
        "free-tier key); akshayaggarwal99/nodenest#1 (2025-12-29); Twarner491/AvianVisitors#9 (2026-06-14: "
        "'new free-tier API projects (model quota now 0)')",
        "2026-12-07",
    ),
    RefusalWording(
        "openrouter_no_endpoints_for_parameters",
        "openrouter",
        (404,),
        re.compile(r"No endpoints found that can handle the requested parameters", re.IGNORECASE),
        "request",
        lambda model: "No endpoints found that can handle the requested parameters.",
        "https://github.com/block/buzz/issues/3018 (2026-07-26, `require_parameters: true` and a parameter "
        "the model's endpoints do not list); xorbitsai/xagent#1575 (2026-08-21); "
        "https://openrouter.ai/docs/features/provider-routing (require_parameters)",
        "2026-12-07",
    ),
    RefusalWording(
        "openrouter_no_endpoints_supporting",
        "openrouter",
        (404,),
        re.compile(r"No endpoints found that support [\w -]+", re.IGNORECASE),
        "request",
        lambda model: (
            "No endpoints found that support tool use. To learn more about provider routing, visit: "
            "https://openrouter.ai/docs/guides/routing/provider-selection"
        ),
        "https://github.com/Kilo-Org/kilocode/issues/9006 (2026-04-15, 404 'No endpoints found that support "
        "tool use.')",
        "2026-12-07",
    ),
    RefusalWording(
        "unsupported_parameter",
        "openrouter",
        (400, 422),
        re.compile(r"Unsupported (parameter|value): '?\w+'?", re.IGNORECASE),
        "request",
        lambda model: "Unsupported parameter: 'temperature' is not supported with this model.",
        "https://github.com/BerriAI/litellm/issues/10957 (2025-05-19: OpenRouter 400 'Provider returned "
        "error', metadata.raw from OpenAI 'Unsupported parameter: 'temperature' is not supported with this "
        "model.'); decolua/9router#536; nashsu/llm_wiki#670 ('Unsupported value: 'temperature' does not "
        "support 0.1 with this model.'); https://openrouter.ai/docs/guides/routing/model-fallbacks (any "
        "error of a model may move to the next)",
        "2026-12-07",
    ),
)
REFUSALS += (
    RefusalWording(
        "context_length",
        "openrouter",
        (400, 413),
        re.compile(r"maximum context length is \d+ tokens", re.IGNORECASE),
        "request",
        lambda model: (
            "This endpoint's maximum context length is 32768 tokens. However, you requested about 40000 "
            "tokens (8000 of text input, 32000 in the output). Please reduce the length of either one."
        ),
        "https://openrouter.ai/docs/guides/routing/model-fallbacks ('Context length validation errors' move "
        "to the next model); https://github.com/BerriAI/litellm/issues/31557 (2026-06-28, a fallback with a "
        "smaller context window); BerriAI/litellm#12680 (\"This model's maximum context length is 32768 "
        'tokens")',
        "2026-12-07",
    ),
)
REFUSAL_NAMES = tuple(refusal.name for refusal in REFUSALS)


def refused_model(provider: GoneProvider, status: int | None, *texts: str | None) -> RefusalWording | None:
    """The `REFUSALS` wording of `provider` that this answer (HTTP `status`, the provider's message
    and, behind a router, the upstream's own words) matches, or None."""
    if status is None:
        return None
    for refusal in REFUSALS:
        if refusal.provider != provider or status not in refusal.statuses:
            continue
        if any(text and refusal.pattern.search(text) for text in texts):
            return refusal
    return None


def refusal(name: str) -> RefusalWording:
    """The refusal called `name` (`REFUSAL_NAMES`); `KeyError` for another."""
    for candidate in REFUSALS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


@dataclass(frozen=True)
class GoneMatch:
    """A provider answer recognised as "model gone": the wording, and the bare model id it names
    (None: the wording names none, so it is the model that was asked)."""

    wording: GoneWording
    model: str | None


def gone_model(
    provider: GoneProvider, status: int | None, message: str | None, *, model_request: bool = True
) -> GoneMatch | None:
    """The "model gone" wording of `provider` that this answer (HTTP `status`, `message`) matches,
    or None for any other answer. `model_request`: the answer is to a request made to the model
    itself (a generation or a start), not to an operation or a file; a wording that names nothing
    (`model_requests_only`) means the model only then."""
    if status is None or not message:
        return None
    for wording in WORDINGS:
        if wording.provider != provider or wording.status != status:
            continue
        if wording.model_requests_only and not model_request:
            continue
        found = wording.pattern.search(message)
        if found is not None:
            named = found.groupdict().get("model")
            return GoneMatch(wording, named.rsplit("/", 1)[-1] if named and provider == "google" else named)
    return None


def wording(name: str) -> GoneWording:
    """The wording called `name` (`WORDING_NAMES`); `KeyError` for another."""
    for candidate in WORDINGS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
