"""One image from Google GenAI, under the call policy, through the API surface the model catalog
names for the model (`ModelEntry.surface`): `generate_content` with IMAGE output and the image
config (`imageConfig.aspectRatio`, `imageConfig.imageSize`: the Gemini image models, either
backend), or Imagen's `predict` (`generate_images`, Vertex AI; the retired Imagen line). Only the
parameters the model's catalog entry accepts are sent."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from google import genai
from google.genai import types

from contentgen.billing.prices import has_image_price, image_cost, image_cost_bound, priced_chain
from contentgen.catalog import accepted_parameters, find_model
from contentgen.connectors.genai_connector import google_genai
from contentgen.core.retry import Attempt
from contentgen.errors import ConfigurationError, ContentFilteredError, ModelOutputError


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    mime_type: str
    model: str


def _imagen(
    client: genai.Client, prompt: str, aspect_ratio: str, model: str, timeout: float
) -> GeneratedImage:
    if not client.vertexai:
        raise ConfigurationError(
            f"service misconfigured: IMAGE_MODEL {model} (Imagen) needs GOOGLE_GENAI_USE_VERTEXAI=true; "
            "with the Gemini Developer API use a Gemini image model"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK flags generate_images as deprecated for 2027
        response = client.models.generate_images(
            model=model,
            prompt=prompt,
            config=types.GenerateImagesConfig(
                number_of_images=1,
                aspect_ratio=aspect_ratio,
                output_mime_type="image/png",
                include_rai_reason=True,
                http_options=types.HttpOptions(timeout=int(timeout * 1000)),
            ),
        )
    for generated in response.generated_images or []:
        if generated.image is not None and generated.image.image_bytes:
            return GeneratedImage(
                generated.image.image_bytes, generated.image.mime_type or "image/png", model
            )
    reasons = [g.rai_filtered_reason for g in response.generated_images or [] if g.rai_filtered_reason]
    if reasons:
        raise ContentFilteredError(f"the image model declined the prompt: {reasons[0]}")
    # No image and no reason: Imagen withholds what its safety filter blocks ("If fewer images
    # than requested are returned, then some generated output is being blocked",
    # https://cloud.google.com/vertex-ai/generative-ai/docs/image/responsible-ai-imagen).
    raise ContentFilteredError(
        f"{model} returned no image and no reason: Google withholds images its safety filter "
        "blocks (fewer images than requested)"
    )


def _gemini(
    client: genai.Client,
    prompt: str,
    aspect_ratio: str,
    model: str,
    timeout: float,
    references: Sequence[tuple[bytes, str]] = (),
) -> GeneratedImage:
    entry = find_model(model)
    image_config = accepted_parameters(
        model,
        {
            "image_config.aspect_ratio": aspect_ratio,
            "image_config.image_size": entry.image.default_size if entry and entry.image else None,
        },
    )
    # Reference images (a character's look) go after the prompt as inline image parts, for a
    # model whose catalog entry takes them (`image.max_reference_images`).
    contents: Any = (
        [prompt, *(types.Part.from_bytes(data=data, mime_type=mime) for data, mime in references)]
        if references
        else prompt
    )
    response = client.models.generate_content(
        model=model,
        contents=contents,
        config=types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(
                aspect_ratio=image_config.get("image_config.aspect_ratio"),
                image_size=image_config.get("image_config.image_size"),
            ),
            http_options=types.HttpOptions(timeout=int(timeout * 1000)),
        ),
    )
    for candidate in response.candidates or []:
        # A thinking image model (Gemini 3 Pro Image) sends interim images marked `thought: true`
        # before the final one ("Thinking process",
        # https://ai.google.dev/gemini-api/docs/image-generation): the final image is the last
        # part that is not a thought.
        images = [
            part.inline_data
            for part in (candidate.content.parts if candidate.content else None) or []
            if not part.thought and part.inline_data is not None and part.inline_data.data
        ]
        if images and images[-1].data:
            return GeneratedImage(images[-1].data, images[-1].mime_type or "image/png", model)
    _raise_declined(response, model)
    finish = [c.finish_reason.value for c in response.candidates or [] if c.finish_reason is not None]
    raise ModelOutputError(f"{model} returned no image ({', '.join(finish) or 'no candidates'})")


# Candidate finish reasons that mean the model declined to draw (google-genai `types.FinishReason`;
# https://ai.google.dev/api/generate-content#FinishReason). `MODEL_ARMOR` (blocked by Model Armor,
# Vertex AI), `ESCALATION` (filtered by an escalation rule) and `PUP_LIMITED_DISABLED` (the
# Prohibited Use Policy) are filters too. `OTHER` on an image request is taken as a decline: it is
# `IMAGE_OTHER`'s text-side twin, and another request with the same prompt meets the same stop.
# `STOP` without an image is the model's own refusal (`_raise_declined`); `MAX_TOKENS`,
# `MALFORMED_RESPONSE` and no candidate at all stay a 502.
DECLINED_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "OTHER",
        "MODEL_ARMOR",
        "ESCALATION",
        "PUP_LIMITED_DISABLED",
    }
)


def _raise_declined(response: types.GenerateContentResponse, model: str) -> None:
    """Raise `ContentFilteredError` (in the provider's words) for a Gemini answer without an image
    that is a decline: `promptFeedback.blockReason` (+ `blockReasonMessage`), a candidate finish
    reason in `DECLINED_FINISH_REASONS` (+ `finishMessage`), an answer holding only text (the
    model's text is its reason), or a candidate that finished (`STOP`) with no image and no words.
    Google's image safety guide: "Model refusal: ... the model typically returns a text response
    ... The FinishReason is STOP"
    (https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/gemini-image-responsible-ai).
    Sources: https://ai.google.dev/api/generate-content#PromptFeedback and
    https://ai.google.dev/gemini-api/docs/image-generation."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = str(feedback.block_reason.value)
        detail = f"{reason}: {feedback.block_reason_message}" if feedback.block_reason_message else reason
        raise ContentFilteredError(f"{model} declined the prompt ({detail})")
    texts: list[str] = []
    for candidate in response.candidates or []:
        finish = candidate.finish_reason.value if candidate.finish_reason is not None else None
        if finish in DECLINED_FINISH_REASONS:
            words = f": {candidate.finish_message}" if candidate.finish_message else ""
            raise ContentFilteredError(f"{model} declined the prompt ({finish}){words}")
        parts = (candidate.content.parts if candidate.content else None) or []
        texts.extend(
            part.text.strip() for part in parts if part.text and part.text.strip() and not part.thought
        )
    if texts:
        raise ContentFilteredError(f"{model} answered without an image: {' '.join(texts)[:500]}")
    if any(c.finish_reason == types.FinishReason.STOP for c in response.candidates or []):
        raise ContentFilteredError(
            f"{model} finished (STOP) without an image and gave no reason: a refusal to draw the prompt"
        )


def accepts_references(model: str) -> int:
    """How many reference images `model` takes (the catalog; 0 when it takes none or is unknown)."""
    entry = find_model(model)
    return entry.image.max_reference_images if entry is not None and entry.image is not None else 0


def generate_image(
    prompt: str,
    *,
    aspect_ratio: str,
    models: Sequence[str],
    references: Sequence[tuple[bytes, str]] = (),
) -> GeneratedImage:
    """The image for `prompt` from the first model that answers; `ContentFilteredError` (422
    `content_filtered`, the provider's words, after that one request) when the model declines:
    Imagen's `raiFilteredReason` or no image at all, a Gemini decline (`_raise_declined`), or a
    safety filter's error (`classify_genai_error`, DECLINED). `references`: (bytes, MIME type)
    images to keep a look from, sent to a model that takes them (catalog), else left out."""
    models = priced_chain(models, has_image_price, "IMAGE_MODEL / IMAGE_FALLBACK_MODELS")

    def attempt(client: genai.Client, call: Attempt) -> GeneratedImage:
        entry = find_model(call.model)
        if entry is not None and entry.surface == "predict":
            image = _imagen(client, prompt, aspect_ratio, call.model, call.timeout)
        else:
            usable = list(references)[: accepts_references(call.model)]
            image = _gemini(client, prompt, aspect_ratio, call.model, call.timeout, usable)
        # Google reports no cost for images: it comes from the price table (contentgen.billing.prices).
        call.report(
            answered_by=call.model,
            cost_usd=image_cost(call.model),
            bytes=len(image.data),
            mime_type=image.mime_type,
        )
        return image

    # Reserved against the key's budget before the request: exactly what one image costs.
    def bound(model: str) -> Decimal | None:
        return image_cost_bound(model)

    return google_genai.call(attempt, models=models, name="image", prompt=prompt, cost_bound=bound)
