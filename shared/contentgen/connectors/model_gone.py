"""The one place that knows how each provider says "this model is gone" (retired, unknown, no
endpoint left): every documented or publicly reported wording, with its source and the date it
was read, as a pattern the connectors classify with (`gone_model`) and an example the provider
emulator answers with (`GoneWording.example`, `local.emulator_catalog`).

A wording that names the model gives its bare id (`GoneMatch.model`); one that does not ("This
model is no longer available to new users.") means the model that was asked. A wording that names
something other than a model ("No endpoints found that can handle the requested parameters", tool
use) is about the request, not the model, and is not here.
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
    ),
    GoneWording(
        "vertex_publisher_model_not_found",
        "google",
        404,
        # Vertex AI says this also for a model not served in the region or to the project: a start
        # is moved to the next model and remembered; a running operation's check never consults it.
        re.compile(r"Publisher Model `?[^`\s]*?models/(?P<model>[^`\s/]+?)`? was not found", re.IGNORECASE),
        _vertex_not_found,
        "https://github.com/genkit-ai/genkit/issues/4688 (Vertex AI)",
        "2026-12-06",
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


@dataclass(frozen=True)
class GoneMatch:
    """A provider answer recognised as "model gone": the wording, and the bare model id it names
    (None: the wording names none, so it is the model that was asked)."""

    wording: GoneWording
    model: str | None


def gone_model(provider: GoneProvider, status: int | None, message: str | None) -> GoneMatch | None:
    """The "model gone" wording of `provider` that this answer (HTTP `status`, `message`) matches,
    or None for any other answer."""
    if status is None or not message:
        return None
    for wording in WORDINGS:
        if wording.provider != provider or wording.status != status:
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
