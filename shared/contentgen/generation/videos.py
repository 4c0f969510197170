"""Video through google-genai: start a job, check it once, read the result. The API surface is the
model catalog's (`contentgen.catalog`, `ModelEntry.surface`), never guessed from the id:

- `predict_long_running` (Veo 3.1 on Vertex AI): `models.generate_videos` starts a long-running
  operation (`:predictLongRunning`), `operations.get` checks it (`:fetchPredictOperation`).
  `generate_videos` exists only in Vertex AI mode in google-genai 3.x.
- `interactions` (Gemini Omni on the Gemini Developer API, one API key): `interactions.create`
  with `background=True` (`POST /{api_version}/interactions`; google-genai 3.4.0 sends `v1`, its
  `GOOGLE_AI_API_DEFAULT_VERSION`; the answer's `id` is the job's handle) and `interactions.get`
  (`GET /{api_version}/interactions/{id}`) until `status` is `completed` (the video is
  the last `model_output` step's `video` content, base64 `data` or a `uri`), or `failed` /
  `cancelled` / `incomplete` / `budget_exceeded`. Sources: google-genai 3.4.0
  `google/genai/_gaos/interactions.py` (`Interactions.create`: `POST /{api_version}/interactions`;
  `get`: `GET /{api_version}/interactions/{interactionsId}`), `_gaos/google_genai.py`
  (`GeminiNextGenInteractions`: the parent client's httpx client, base URL, key and
  `retry_options`; `_add_output_properties_if_interaction` fills `output_video`),
  `_gaos/types/interactions/videoresponseformat.py` (`response_format` `{"type": "video",
  "aspect_ratio", "duration", "resolution", "delivery"}`), `interaction.py` (statuses); the wire
  flow as verified against the live API in https://github.com/TanStack/ai/issues/871 (2026-07-01,
  read 2026-12-06) and https://github.com/diegosouzapw/OmniRoute/issues/8748 (read 2026-12-06).

Neither SDK waits here: a job is rebuilt from its handle in each check, so checks can happen in
other invocations (the video worker). Only the parameters the model's catalog entry accepts are
sent (`contentgen.catalog.accepted_parameters`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from google import genai
from google.genai import types

from contentgen.billing.prices import has_video_price, priced_chain, video_cost, video_cost_bound
from contentgen.catalog import accepted_parameters, find_model
from contentgen.config import get_settings
from contentgen.connectors.genai_connector import (
    google_genai,
    is_safety_block,
    vertex_project_scope,
)
from contentgen.core.retry import Attempt
from contentgen.errors import ConfigurationError, ModelOutputError
from contentgen.observability import logger

# A long-running operation's name in its JSON (google.longrunning.Operation `name`).
_OPERATION_NAME = re.compile(r'"name"\s*:\s*"([^"\\]+/operations/[^"\\]+)"')


@dataclass(frozen=True)
class VideoCheck:
    """One look at an operation: not done; done with a video; done with an error or filtered."""

    done: bool
    data: bytes | None = None
    mime_type: str = "video/mp4"
    error: str | None = None
    filtered: list[str] = field(default_factory=list)


def _timeout(seconds: float) -> types.HttpOptions:
    return types.HttpOptions(timeout=int(seconds * 1000))


@dataclass(frozen=True)
class StartedVideo:
    operation_name: str
    model: str
    cost_usd: float | None = None  # seconds x the model's price per second (contentgen.billing.prices)


def uses_interactions(model: str) -> bool:
    """Whether `model` is served through the Interactions API (the catalog's surface)."""
    entry = find_model(model)
    return entry is not None and entry.surface == "interactions"


def check_vertex_project(models: Sequence[str]) -> None:
    """`ConfigurationError` (503) when the settings select Vertex AI without a project and location
    and a model of `models` is a Veo (`predictLongRunning`) model: Vertex AI serves Veo on its
    project-scoped endpoint only, express mode (an API key alone) has no `predictLongRunning`
    (sources in `contentgen.connectors.genai_connector`'s docstring). Checked before a job starts
    and again before each start, so nothing is paid for a request that cannot be made."""
    settings = get_settings()
    if not settings.google_use_vertexai or vertex_project_scope(settings) is not None:
        return
    veo = [model for model in models if not uses_interactions(model)]
    if veo:
        raise ConfigurationError(
            f"service misconfigured: VIDEO_MODEL {veo[0]} (Veo) is served by Vertex AI's "
            "project-scoped endpoint only: set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION "
            "(template parameters GoogleCloudProject, GoogleCloudLocation); Vertex AI express "
            "mode (an API key without a project) serves no Veo"
        )


def _backend_check(client: genai.Client, model: str) -> None:
    """A model the configured backend cannot serve is a 503 naming the switch, before any request:
    an Interactions model on Vertex AI, a Veo model on the Gemini Developer API, or a Veo model on
    Vertex AI without a project and location (`check_vertex_project`)."""
    interactions = uses_interactions(model)
    if client.vertexai:
        check_vertex_project([model])
    if interactions and client.vertexai:
        raise ConfigurationError(
            f"service misconfigured: VIDEO_MODEL {model} is served by the Gemini Developer API's "
            "Interactions API: set GOOGLE_GENAI_USE_VERTEXAI=false"
        )
    if not interactions and not client.vertexai:
        raise ConfigurationError(
            f"service misconfigured: VIDEO_MODEL {model} needs GOOGLE_GENAI_USE_VERTEXAI=true "
            "(google-genai offers generate_videos on Vertex AI only; the Gemini Developer API "
            "serves video through the Interactions API models of the catalog)"
        )


# The video interaction's output format (`VideoResponseFormatParam`): only the fields the model's
# catalog entry accepts are sent. `duration` is a string: google.protobuf.Duration's JSON form,
# whole seconds with an `s` suffix ("8s", https://protobuf.dev/programming-guides/json/).
def _response_format(model: str, aspect_ratio: str, duration_seconds: int) -> dict[str, Any]:
    wanted = {
        "response_format.aspect_ratio": aspect_ratio,
        "response_format.duration": f"{duration_seconds}s",
        "response_format.delivery": "inline",
    }
    sent = accepted_parameters(model, wanted)
    return {"type": "video", **{name.split(".", 1)[1]: value for name, value in sent.items()}}


def _start_interaction(
    client: genai.Client, call: Attempt, prompt: str, aspect_ratio: str, duration_seconds: int
) -> str:
    """Start a background video interaction; its `id` is the job's handle."""
    interaction = client.interactions.create(
        model=cast(Any, call.model),
        input=prompt,
        response_format=cast(Any, _response_format(call.model, aspect_ratio, duration_seconds)),
        background=True,
        store=True,  # a background interaction is read back by id (the check)
        timeout=call.timeout,
    )
    identifier = getattr(interaction, "id", None)
    if not identifier:
        raise ModelOutputError(f"{call.model} did not return an interaction id")
    return str(identifier)


def start_video(
    prompt: str, *, aspect_ratio: str, duration_seconds: int, models: Sequence[str]
) -> StartedVideo:
    """Start a video job with the first model that accepts it: a Veo operation (Vertex AI) or a
    background interaction (Gemini API), by the model's catalog surface. `operation_name` is the
    operation's name or the interaction's id; `check_video` takes it with the same `model`.

    Starting is paid and not idempotent, so it runs under the call policy with `idempotent=False`:
    a timeout, a connection dropped after the request was sent, or an answer that could not be
    read is final (raised flagged `unconfirmed_paid_work`), neither retried nor sent to the next
    model, since Google may have started (and billed) the operation. When such an answer
    still holds the operation's whole `name` (a body cut short after it), the operation is kept."""
    models = priced_chain(models, has_video_price, "VIDEO_MODEL / VIDEO_FALLBACK_MODELS")

    def attempt(client: genai.Client, call: Attempt) -> StartedVideo:
        _backend_check(client, call.model)
        if uses_interactions(call.model):
            handle = _start_interaction(client, call, prompt, aspect_ratio, duration_seconds)
            cost = video_cost(call.model, duration_seconds)
            call.report(answered_by=call.model, cost_usd=cost, operation_name=handle)
            return StartedVideo(handle, call.model, cost)
        config = accepted_parameters(
            call.model,
            {"aspectRatio": aspect_ratio, "durationSeconds": duration_seconds, "sampleCount": 1},
        )
        try:
            operation = client.models.generate_videos(
                model=call.model,
                source=types.GenerateVideosSource(prompt=prompt),
                config=types.GenerateVideosConfig(
                    aspect_ratio=config.get("aspectRatio"),
                    duration_seconds=config.get("durationSeconds"),
                    number_of_videos=config.get("sampleCount"),
                    http_options=_timeout(call.timeout),
                ),
            )
        except json.JSONDecodeError as exc:
            found = _OPERATION_NAME.search(exc.doc)
            if found is None:
                raise  # unreadable: final for this start (see above)
            logger.warning(
                "video start answer cut short; its operation is kept",
                extra={"operation": found.group(1), "reason": exc.msg},
            )
            operation = types.GenerateVideosOperation.model_validate({"name": found.group(1)})
        if not operation.name:
            raise ModelOutputError(f"{call.model} did not return an operation name")
        # Veo bills per second of video asked for; the cost is known once the operation starts.
        cost = video_cost(call.model, duration_seconds)
        call.report(answered_by=call.model, cost_usd=cost, operation_name=operation.name)
        return StartedVideo(operation.name, call.model, cost)

    # A start that timed out may have started (and billed) the operation: not retried.
    # Reserved against the key's budget before the start: exactly what the start will cost.
    def bound(model: str) -> Decimal | None:
        return video_cost_bound(model, duration_seconds)

    return google_genai.call(
        attempt, models=models, name="generate_videos", prompt=prompt, idempotent=False, cost_bound=bound
    )


def _download(video: types.Video, model: str) -> VideoCheck:
    """A finished video given as a URI: the Gemini Developer API serves it through `files.download`.

    Vertex AI returns bytes unless an output GCS URI is requested, which contentgen never does.
    """

    def attempt(client: genai.Client, call: Attempt) -> bytes | None:
        if client.vertexai:
            return None
        return client.files.download(
            file=video, config=types.DownloadFileConfig(http_options=_timeout(call.timeout))
        )

    data = google_genai.call(attempt, models=[model], name="files.download", wait=False, new_work=False)
    if data is None:
        return VideoCheck(
            done=True, error=f"the video was written to {video.uri}, which contentgen does not read"
        )
    return VideoCheck(done=True, data=data, mime_type=video.mime_type or "video/mp4")


# Interaction statuses that end it without a video (google-genai 3.4.0
# `_gaos/types/interactions/interaction.py` `InteractionStatus`).
_INTERACTION_ENDED = frozenset({"failed", "cancelled", "incomplete", "budget_exceeded", "requires_action"})


def _interaction_error(interaction: Any) -> str:
    """The provider's words for an interaction that ended without a video."""
    words = [
        str(e.message) for e in getattr(interaction, "errors", None) or [] if getattr(e, "message", None)
    ]
    for step in getattr(interaction, "steps", None) or []:
        error = getattr(step, "error", None)
        message = getattr(error, "message", None) if error is not None else None
        if message:
            words.append(str(message))
    return "; ".join(words) or f"the interaction ended {getattr(interaction, 'status', 'without a video')}"


def _check_interaction(interaction_id: str, model: str) -> VideoCheck:
    """One `interactions.get` of a background video interaction, read as a `VideoCheck`."""

    def attempt(client: genai.Client, call: Attempt) -> Any:
        interaction = client.interactions.get(interaction_id, timeout=call.timeout)
        call.report(answered_by=call.model, done=str(getattr(interaction, "status", "")))
        return interaction

    interaction = google_genai.call(
        attempt, models=[model], name="interactions.get", wait=False, new_work=False
    )
    status = str(getattr(interaction, "status", ""))
    if status in _INTERACTION_ENDED:
        message = _interaction_error(interaction)
        if is_safety_block(message):
            return VideoCheck(done=True, filtered=[message])
        return VideoCheck(done=True, error=message)
    if status != "completed":
        return VideoCheck(done=False)  # queued, in_progress, requires_continuation
    video = getattr(interaction, "output_video", None)
    data = getattr(video, "data", None) if video is not None else None
    mime_type = str(getattr(video, "mime_type", None) or "video/mp4")
    if data:
        try:
            return VideoCheck(done=True, data=base64.b64decode(data, validate=True), mime_type=mime_type)
        except (binascii.Error, ValueError):
            return VideoCheck(done=True, error=f"{model} returned video data that is not base64")
    uri = getattr(video, "uri", None) if video is not None else None
    if uri:
        return _download(types.Video(uri=str(uri), mime_type=mime_type), model)
    text = str(getattr(interaction, "output_text", None) or "").strip()
    reason = f"{model} finished without a video" + (f": {text[:500]}" if text else " and gave no reason")
    return VideoCheck(done=True, filtered=[reason])


def check_video(operation_name: str, *, model: str) -> VideoCheck:
    """Check the job (started with `model`: an operation or an interaction, by the model's catalog
    surface) once, without waiting, and read its outcome. A failed check raises its
    `ProviderError` (with the provider's wait) after one request; a check that finds the model
    gone raises `ModelUnavailableError` (a distinct type: the job ends at once, in the provider's
    words; it is never worth checking again).

    A safety decline (`filtered`, the job's `content_filtered`) is `raiMediaFilteredReasons` /
    `raiMediaFilteredCount`, an operation error in a safety filter's words (`is_safety_block`),
    or a finished operation with no video at all; any other operation error is `error`."""

    if uses_interactions(model):
        return _check_interaction(operation_name, model)

    def attempt(client: genai.Client, call: Attempt) -> types.GenerateVideosOperation:
        operation = client.operations.get(
            types.GenerateVideosOperation.model_validate({"name": operation_name}),
            config=types.GetOperationConfig(http_options=_timeout(call.timeout)),
        )
        call.report(answered_by=call.model, done=bool(operation.done))
        return operation

    # One request, no wait: the worker checks again later through its queue (services.videos).
    operation = google_genai.call(attempt, models=[model], name="operations.get", wait=False, new_work=False)
    if not operation.done:
        return VideoCheck(done=False)
    if operation.error:
        message = operation.error.get("message") if isinstance(operation.error, dict) else None
        if is_safety_block(str(message)):
            # A prompt the safety filter stopped ends the operation with an error whose message
            # carries the support code (google.rpc.Status, code 3 INVALID_ARGUMENT): "The prompt
            # could not be submitted. ... Support codes: 29310472" (Veo Responsible AI guide,
            # https://cloud.google.com/vertex-ai/generative-ai/docs/video/responsible-ai-and-usage-guidelines).
            return VideoCheck(done=True, filtered=[str(message)])
        return VideoCheck(done=True, error=str(message or operation.error))
    response = operation.response
    for generated in (response.generated_videos if response else None) or []:
        video = generated.video
        if video is not None and video.video_bytes:
            return VideoCheck(done=True, data=video.video_bytes, mime_type=video.mime_type or "video/mp4")
        if video is not None and video.uri:
            return _download(video, model)
    # Veo withholds a video it filtered and says why in `raiMediaFilteredReasons`
    # (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/veo-video-generation).
    reasons = list((response.rai_media_filtered_reasons if response else None) or [])
    if reasons:
        return VideoCheck(done=True, filtered=reasons)
    filtered_count = response.rai_media_filtered_count if response else None
    if filtered_count:
        return VideoCheck(done=True, filtered=[f"{filtered_count} video(s) withheld by the safety filter"])
    # Done with no video and no reason (googleapis/python-genai#1560): Veo withholds what its
    # safety filter blocks ("If fewer videos than requested are returned, then some generated
    # output is being blocked", Veo Responsible AI guide, link above).
    return VideoCheck(
        done=True,
        filtered=[
            f"{model} finished with no video and no reason: Google withholds videos its safety filter "
            "blocks (fewer videos than requested)"
        ],
    )
