"""What the provider emulator answers for a model the catalog says the provider no longer (or never)
serves, or for a capability the model lacks: the providers' own error bodies, with their sources.

- Gemini API (`/v1beta/models/X:method`, or `/v1/...`: the version of the path is named), unknown
  or retired model, or one the Gemini API does not serve with that method: HTTP 404
  `{"error": {"code": 404, "message": "models/X is not found for API version v1beta, or is not
  supported for generateContent. Call ListModels to see the list of available models and their
  supported methods.", "status": "NOT_FOUND"}}`
  (https://github.com/continuedev/continue/issues/9939, https://github.com/wwardaww/gnome-gemini-ai/issues/21;
  read 2026-12-06).
- Vertex AI (`/v1beta1/.../publishers/google/models/X:method`): HTTP 404 NOT_FOUND
  "Publisher Model `projects/P/locations/L/publishers/google/models/X` was not found or your
  project does not have access to it. Please ensure you are using a valid model version. For more
  information, see: https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
  (https://github.com/genkit-ai/genkit/issues/4688, https://github.com/truefoundry/models/pull/961;
  read 2026-12-06).
- OpenRouter, an id it does not know: HTTP 400 `{"error": {"message": "X is not a valid model ID",
  "code": 400}, "user_id": "..."}` (https://github.com/OpenRouterTeam/openrouter-examples/issues/74,
  https://github.com/sipeed/picoclaw/issues/1790; read 2026-12-06); a listed model with no endpoint
  left (a retired vendor model): HTTP 404 `{"error": {"message": "No endpoints found for X.",
  "code": 404}, "user_id": "..."}` (https://github.com/chatboxai/chatbox/issues/2743, read
  2026-12-06); with `provider.require_parameters` and a parameter no endpoint takes: HTTP 404 "No
  endpoints found that can handle the requested parameters. To learn more about provider routing,
  visit: https://openrouter.ai/docs/provider-routing" (the form of the "No endpoints found that
  support tool use. To learn more about provider routing, visit: ..." answers in
  https://github.com/musistudio/claude-code-router/issues/583, read 2026-12-06; checked only
  with `strict_parameters`, see below).
- Vertex AI in express mode (an API key and no project: the project-less
  `/v1beta1/publishers/google/models/X:method` google-genai calls when it is given a key without a
  project and location) serves `generateContent`, `streamGenerateContent` and `countTokens` only
  (https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/vertex-ai-express-mode-api-reference,
  read 2026-12-07); Veo and Imagen are project-scoped
  (https://github.com/googleapis/dotnet-genai/issues/305, 2026-05-05, read 2026-12-07: what works
  with a key is `/v1beta1/projects/{p}/locations/us-central1/publishers/google/models/{veo}:predictLongRunning`
  for Veo 3.1 GA).
  A Veo `:predictLongRunning` on the express path: HTTP 400 `{"error": {"code": 400, "message":
  "Invalid resource field value in the request.", "status": "INVALID_ARGUMENT"}}`, the answer
  reported for express mode and a Veo id while the same key made images
  (https://github.com/googleapis/java-genai/issues/570, 2025-09-27, read 2026-12-07). The
  project-scoped path (`/v1beta1/projects/P/locations/L/publishers/google/models/X:method`) is
  served as the rest of this module says.
- Veo `:predictLongRunning` with a `durationSeconds` the model does not take (Veo 3.1 takes 4, 6
  or 8; 5 is refused too): HTTP 400 `{"error": {"code": 400, "message": "The number value for
  `durationSeconds` is out of bound. Please provide a value between 4 and 8, inclusive.",
  "status": "INVALID_ARGUMENT"}}` (https://github.com/hirokidaichi/ergon/issues/11, on Veo 3.1,
  read 2026-12-06). The bounds come from the catalog entry's `video.duration_bounds`.

- The Gemini API's Interactions API (`POST /{api_version}/interactions`, `v1` by default in google-genai 3.4.0:
  `google/genai/_gaos/interactions.py`, read 2026-12-06): a model the catalog does not serve there
  (unknown, shut down, or not an `interactions` model) gets the Gemini API's 404 NOT_FOUND body
  above, naming `models/X`. The Interactions API's own wording for a retired model was not found in
  a public source on 2026-12-06; the Gemini API's documented 404 for a model it does not serve is
  answered instead (same API, same google.rpc.Status error model, https://ai.google.dev/api/rest).

- Google's other wordings for a model it retired (`contentgen.connectors.model_gone.WORDINGS`, each
  with its public source and date: "This model models/X is no longer available. Please update your
  code to use a newer model ...", "... is no longer available to new users. ..."): the config
  `gone_wording` (a name of `WORDING_NAMES`) makes the Gemini API answer a known but retired model
  in that wording (HTTP 404 NOT_FOUND, the wording's own example message); an unknown id keeps the
  "is not found for API version" answer.

The catalog decides what is served on `today` (the emulator's config `today`, default the real
date); `retired` (config) adds model ids answered as shut down whatever the catalog says (a test's
"the primary was just retired"). OpenRouter's parameter check (`strict_parameters`) is on by
default: the layer sends only the parameters the catalog says each model accepts
(`contentgen.catalog.accepted_parameters`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from typing import Any

from local.runtime import SHARED

if SHARED not in sys.path:
    sys.path.insert(0, SHARED)

from contentgen.catalog import default_chain, find_model, today
from contentgen.catalog.schema import ModelEntry
from contentgen.connectors.model_gone import refusal as free_tier_refusal_wording
from contentgen.connectors.model_gone import wording as gone_wording_named

VERTEX_MODEL_VERSIONS = "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions"
# Vertex AI express mode's answer to a Veo start (java-genai#570, see the module's docstring).
EXPRESS_MODE_VEO = {
    "code": 400,
    "message": "Invalid resource field value in the request.",
    "status": "INVALID_ARGUMENT",
}
OPENROUTER_ROUTING = "https://openrouter.ai/docs/provider-routing"
# Request fields of an OpenRouter chat completion that are parameters an endpoint must support
# (`supported_parameters` names, https://openrouter.ai/docs/api-reference/parameters).
OPENROUTER_PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "seed",
    "stop",
    "max_tokens",
    "response_format",
    "tools",
    "tool_choice",
    "reasoning",
)
# The Google method in a request path -> the catalog surface that serves it.
GOOGLE_SURFACES = {
    "generateContent": "generate_content",
    "streamGenerateContent": "generate_content",
    "predict": "predict",
    "predictLongRunning": "predict_long_running",
}


@dataclass(frozen=True)
class Refusal:
    """An error answer: HTTP status and the provider's JSON body."""

    status: int
    body: dict[str, Any]


def default_image_model() -> str:
    """The catalog's recommended image model (what a fault names when it is told no model)."""
    return default_chain("image")[0]


def _served(entry: ModelEntry | None, day: date, retired: frozenset[str] = frozenset()) -> bool:
    return entry is not None and entry.id not in retired and entry.lifecycle.status_on(day) != "shut_down"


def _gemini_not_found(
    model: str, method: str, version: str = "v1beta", *, known: bool = False, wording: str | None = None
) -> Refusal:
    if known and wording is not None and wording != "gemini_not_found":
        message = gone_wording_named(wording).example(model)
        return Refusal(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})
    message = (
        f"models/{model} is not found for API version {version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods."
    )
    return Refusal(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})


def interactions_refusal(
    body: Any,
    day: date | None = None,
    retired: frozenset[str] = frozenset(),
    version: str = "v1",
    wording: str | None = None,
) -> Refusal | None:
    """The Gemini API's answer to `POST /{version}/interactions` for a model it does not serve there
    (404, see the module docstring); None when the request may proceed."""
    day = day or today()
    model = str((body or {}).get("model", "")) if isinstance(body, dict) else ""
    entry = find_model(model)
    if (
        _served(entry, day, retired)
        and entry is not None
        and "gemini_api" in entry.backends
        and entry.surface == "interactions"
    ):
        return None
    return _gemini_not_found(
        model.rsplit("/", 1)[-1], "createInteraction", version, known=entry is not None, wording=wording
    )


def google_refusal(
    path: str,
    body: Any,
    day: date | None = None,
    retired: frozenset[str] = frozenset(),
    wording: str | None = None,
) -> Refusal | None:
    """The Gemini API's or Vertex AI's answer to a request for a model it does not serve with this
    method (404), or for a capability the model lacks (400); None when the request may proceed."""
    day = day or today()
    resource, _, method = path.split("/", 2)[-1].partition(":")
    model = resource.rsplit("/", 1)[-1]
    vertex = "/publishers/" in path
    if vertex and method == "predictLongRunning" and not resource.startswith("projects/"):
        return Refusal(400, {"error": EXPRESS_MODE_VEO})
    entry = find_model(model)
    backend = "vertex_ai" if vertex else "gemini_api"
    surface = GOOGLE_SURFACES.get(method)
    served = (
        _served(entry, day, retired)
        and entry is not None
        and backend in entry.backends
        and (surface is None or entry.surface == surface)
    )
    if not served:
        if vertex:
            message = (
                f"Publisher Model `{resource}` was not found or your project does not have access to it. "
                f"Please ensure you are using a valid model version. For more information, see: {VERTEX_MODEL_VERSIONS}"
            )
            return Refusal(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})
        return _gemini_not_found(
            model, method or "get", path.strip("/").split("/", 1)[0], known=entry is not None, wording=wording
        )
    if (
        entry is not None
        and entry.video is not None
        and method == "predictLongRunning"
        and isinstance(body, dict)
    ):
        duration = (body.get("parameters") or {}).get("durationSeconds")
        if duration is not None and duration not in entry.video.durations:
            low, high = entry.video.duration_bounds
            message = (
                "The number value for `durationSeconds` is out of bound. "
                f"Please provide a value between {low} and {high}, inclusive."
            )
            return Refusal(400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
    return None


def openrouter_chain(body: dict[str, Any]) -> list[str]:
    """The models a chat request may be served by, in order (`model`, then `models`)."""
    asked = str(body.get("model", ""))
    return list(dict.fromkeys([asked, *(str(m) for m in body.get("models") or [])]))


def openrouter_refusal(
    body: dict[str, Any],
    *,
    day: date | None = None,
    strict_parameters: bool = True,
    retired: frozenset[str] = frozenset(),
) -> tuple[Refusal | None, list[str]]:
    """OpenRouter's answer to a chat request naming an unknown id (400) or only retired models
    (404); otherwise None and the chain's models that may serve it, in order."""
    day = day or today()
    chain = openrouter_chain(body)
    for model in chain:
        entry = find_model(model)
        if entry is None or entry.provider != "openrouter":
            return Refusal(
                400,
                {
                    "error": {"message": f"{model} is not a valid model ID", "code": 400},
                    "user_id": "user_emulator",
                },
            ), []
    live = [model for model in chain if _served(find_model(model), day, retired)]
    if strict_parameters and (body.get("provider") or {}).get("require_parameters"):
        sent = [name for name in OPENROUTER_PARAMETERS if body.get(name) is not None]
        live = [model for model in live if all((e := find_model(model)) and e.accepts(p) for p in sent)]
        if not live and any(_served(find_model(model), day, retired) for model in chain):
            message = f"No endpoints found that can handle the requested parameters. To learn more about provider routing, visit: {OPENROUTER_ROUTING}"
            return Refusal(404, {"error": {"message": message, "code": 404}, "user_id": "user_emulator"}), []
    if not live:
        return Refusal(
            404,
            {
                "error": {"message": f"No endpoints found for {chain[0]}.", "code": 404},
                "user_id": "user_emulator",
            },
        ), []
    return None, live


def openrouter_unknown_model(model: str) -> Refusal | None:
    """OpenRouter's 404 for the endpoints of a model id it does not know (the list-endpoints
    operation documents a 404 answer, https://openrouter.ai/docs/api/api-reference/endpoints/list-endpoints,
    read 2026-12-07; its message was not found in a public source: OpenRouter's error shape
    `{"error": {"message", "code"}}` is answered); None for a catalog OpenRouter model."""
    entry = find_model(model)
    if entry is not None and entry.provider == "openrouter":
        return None
    return Refusal(404, {"error": {"message": f"Model {model} not found", "code": 404}})


def openrouter_endpoints(
    model: str, day: date | None = None, retired: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """The endpoints OpenRouter lists for `model` on `day`: one (taking the catalog's parameters)
    while the catalog serves it, none once it is shut down or `retired`."""
    entry = find_model(model)
    if entry is None or not _served(entry, day or today(), retired):
        return []
    return [
        {
            "name": f"Emulator | {model}",
            "provider_name": "Emulator",
            "status": 0,
            "supported_parameters": list(entry.parameters),
        }
    ]


def free_tier_quota_failure(model: str, *, quota_value: int) -> dict[str, Any]:
    """The `google.rpc.QuotaFailure` detail of a Gemini API 429 RESOURCE_EXHAUSTED on the free
    tier's requests-per-day quota for `model`. `quota_value` 0: the model has no free tier
    (googleapis/js-genai#1322); above 0: the day's quota is used up. Verbatim shape from
    googleapis/python-genai#2044 and google-gemini/gemini-cli#8437 (read 2026-12-06)."""
    return {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [
            {
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": str(quota_value),
            }
        ],
    }


def free_tier_refusal(path: str, body: Any) -> Refusal | None:
    """The Gemini Developer API's answer to a free-tier key asking a paid-only media model it
    serves (`POST /_emulator/config {"free_tier": true}`); None for Vertex AI, a text model or a
    request that is not a generation. Read 2026-12-07:
    - an image model (`:generateContent` of a catalog image model, `:predict`): 429
      RESOURCE_EXHAUSTED "... Quota exceeded for metric: ...generate_content_free_tier_requests,
      limit: 0, model: X" with a `google.rpc.QuotaFailure` of `quotaValue` "0"
      (https://github.com/googleapis/js-genai/issues/1322, 2026-02-12, an image model on a free-tier
      key; Twarner491/AvianVisitors#9, 2026-06-14: "new free-tier API projects (model quota now 0)");
      the same for a video start through the Interactions API (no public body for it: the free
      tier's generic quota answer);
    - a Veo start (`:predictLongRunning`): 404 NOT_FOUND "models/X is not found for API version
      v1beta, or is not supported for predictLongRunning" (https://github.com/google-gemini/cookbook/issues/706,
      2025-04-18: "Veo is a paid only feature ... I just tested with a free API key and got the
      same error message"), while `models.get` still lists the model."""
    if "/publishers/" in path:
        return None
    version = path.strip("/").split("/", 1)[0]
    if path.endswith("/interactions"):
        model = str((body or {}).get("model", "")) if isinstance(body, dict) else ""
    else:
        resource, _, method = path.split("/", 2)[-1].partition(":")
        model = resource.rsplit("/", 1)[-1]
        if method == "predictLongRunning":
            return _gemini_not_found(model, method, version)
        entry = find_model(model)
        if method not in ("generateContent", "predict") or entry is None or entry.image is None:
            return None
    model = model.rsplit("/", 1)[-1]
    message = free_tier_refusal_wording("gemini_free_tier_limit_zero").example(model)
    return Refusal(
        429,
        {
            "error": {
                "code": 429,
                "message": message,
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    free_tier_quota_failure(model, quota_value=0),
                ],
            }
        },
    )
