"""Veo through google-genai on Vertex AI: start an operation, check it once, read the result.

The SDK has no wait; an operation is rebuilt from its name in each check, so checks can happen in
other invocations (the video worker). `generate_videos` exists only in Vertex AI mode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from google import genai
from google.genai import types

from contentgen.billing.prices import video_cost
from contentgen.connectors.genai_connector import google_genai, is_safety_block
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


def start_video(
    prompt: str, *, aspect_ratio: str, duration_seconds: int, models: Sequence[str]
) -> StartedVideo:
    """Start a Veo operation with the first model that accepts it.

    Starting is paid and not idempotent, so it runs under the call policy with `idempotent=False`:
    a timeout, a connection dropped after the request was sent, or an answer that could not be
    read is final (raised flagged `unconfirmed_paid_work`), neither retried nor sent to the next
    model, since Google may have started (and billed) the operation. When such an answer
    still holds the operation's whole `name` (a body cut short after it), the operation is kept."""

    def attempt(client: genai.Client, call: Attempt) -> StartedVideo:
        if not client.vertexai:
            raise ConfigurationError(
                "service misconfigured: video generation needs GOOGLE_GENAI_USE_VERTEXAI=true "
                "(google-genai offers generate_videos on Vertex AI only)"
            )
        try:
            operation = client.models.generate_videos(
                model=call.model,
                source=types.GenerateVideosSource(prompt=prompt),
                config=types.GenerateVideosConfig(
                    aspect_ratio=aspect_ratio,
                    duration_seconds=duration_seconds,
                    number_of_videos=1,
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
        cost = video_cost(model, duration_seconds)
        return Decimal(str(cost)) if cost is not None else None

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

    data = google_genai.call(attempt, models=[model], name="files.download", wait=False)
    if data is None:
        return VideoCheck(
            done=True, error=f"the video was written to {video.uri}, which contentgen does not read"
        )
    return VideoCheck(done=True, data=data, mime_type=video.mime_type or "video/mp4")


def check_video(operation_name: str, *, model: str) -> VideoCheck:
    """Check the operation (started with `model`) once, without waiting, and read its outcome.
    A failed check raises its `ProviderError` (with the provider's wait) after one request.

    A safety decline (`filtered`, the job's `content_filtered`) is `raiMediaFilteredReasons` /
    `raiMediaFilteredCount`, an operation error in a safety filter's words (`is_safety_block`),
    or a finished operation with no video at all; any other operation error is `error`."""

    def attempt(client: genai.Client, call: Attempt) -> types.GenerateVideosOperation:
        operation = client.operations.get(
            types.GenerateVideosOperation.model_validate({"name": operation_name}),
            config=types.GetOperationConfig(http_options=_timeout(call.timeout)),
        )
        call.report(answered_by=call.model, done=bool(operation.done))
        return operation

    # One request, no wait: the worker checks again later through its queue (services.videos).
    operation = google_genai.call(attempt, models=[model], name="operations.get", wait=False)
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
