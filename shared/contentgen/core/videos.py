"""Veo through google-genai on Vertex AI: start an operation, check it once, read the result.

The SDK has no wait; an operation is rebuilt from its name in each check, so checks can happen in
other invocations (the video worker). `generate_videos` exists only in Vertex AI mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from google import genai
from google.genai import types

from contentgen.connectors.genai_connector import google_genai
from contentgen.core.retry import Attempt
from contentgen.errors import ConfigurationError, ModelOutputError
from contentgen.pricing import video_cost


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
    cost_usd: float | None = None  # seconds x the model's price per second (contentgen.pricing)


def start_video(
    prompt: str, *, aspect_ratio: str, duration_seconds: int, models: Sequence[str]
) -> StartedVideo:
    """Start a Veo operation with the first model that accepts it."""

    def attempt(client: genai.Client, call: Attempt) -> StartedVideo:
        if not client.vertexai:
            raise ConfigurationError(
                "service misconfigured: video generation needs GOOGLE_GENAI_USE_VERTEXAI=true "
                "(google-genai offers generate_videos on Vertex AI only)"
            )
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
        if not operation.name:
            raise ModelOutputError(f"{call.model} did not return an operation name")
        # Veo bills per second of video asked for; the cost is known once the operation starts.
        cost = video_cost(call.model, duration_seconds)
        call.report(answered_by=call.model, cost_usd=cost, operation_name=operation.name)
        return StartedVideo(operation.name, call.model, cost)

    # A start that timed out may have started (and billed) the operation: not retried.
    return google_genai.call(attempt, models=models, name="generate_videos", prompt=prompt, idempotent=False)


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

    data = google_genai.call(attempt, models=[model], name="files.download")
    if data is None:
        return VideoCheck(
            done=True, error=f"the video was written to {video.uri}, which contentgen does not read"
        )
    return VideoCheck(done=True, data=data, mime_type=video.mime_type or "video/mp4")


def check_video(operation_name: str, *, model: str) -> VideoCheck:
    """Check the operation (started with `model`) once, without waiting, and read its outcome."""

    def attempt(client: genai.Client, call: Attempt) -> types.GenerateVideosOperation:
        operation = client.operations.get(
            types.GenerateVideosOperation.model_validate({"name": operation_name}),
            config=types.GetOperationConfig(http_options=_timeout(call.timeout)),
        )
        call.report(answered_by=call.model, done=bool(operation.done))
        return operation

    operation = google_genai.call(attempt, models=[model], name="operations.get")
    if not operation.done:
        return VideoCheck(done=False)
    if operation.error:
        message = operation.error.get("message") if isinstance(operation.error, dict) else None
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
    return VideoCheck(done=True, error="the provider returned no video")
