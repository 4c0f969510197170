"""One image from Google GenAI, under the call policy: Imagen (`generate_images`, Vertex AI) or a
Gemini image model (`generate_content` with IMAGE output, either backend)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from google import genai
from google.genai import types

from contentgen.connectors.genai_connector import google_genai
from contentgen.core.retry import Attempt
from contentgen.errors import ConfigurationError, ContentFilteredError, ModelOutputError
from contentgen.pricing import image_cost


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
    raise ModelOutputError(f"{model} returned no image")


def _gemini(
    client: genai.Client, prompt: str, aspect_ratio: str, model: str, timeout: float
) -> GeneratedImage:
    response = client.models.generate_content(
        model=model,
        contents=prompt,
        config=types.GenerateContentConfig(
            response_modalities=["IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=aspect_ratio),
            http_options=types.HttpOptions(timeout=int(timeout * 1000)),
        ),
    )
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.inline_data is not None and part.inline_data.data:
                return GeneratedImage(part.inline_data.data, part.inline_data.mime_type or "image/png", model)
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        detail = feedback.block_reason_message or str(feedback.block_reason.value)
        raise ContentFilteredError(f"the image model declined the prompt: {detail}")
    finish = [c.finish_reason.value for c in response.candidates or [] if c.finish_reason is not None]
    if any(
        reason in ("SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT")
        for reason in finish
    ):
        raise ContentFilteredError(f"the image model declined the prompt ({', '.join(finish)})")
    raise ModelOutputError(f"{model} returned no image ({', '.join(finish) or 'no candidates'})")


def generate_image(prompt: str, *, aspect_ratio: str, models: Sequence[str]) -> GeneratedImage:
    """The image for `prompt` from the first model that answers; `ContentFilteredError` (422) when
    the safety filter withholds it."""

    def attempt(client: genai.Client, call: Attempt) -> GeneratedImage:
        generate = _imagen if call.model.startswith("imagen") else _gemini
        image = generate(client, prompt, aspect_ratio, call.model, call.timeout)
        # Google reports no cost for images: it comes from the price table (contentgen.pricing).
        call.report(
            answered_by=call.model,
            cost_usd=image_cost(call.model),
            bytes=len(image.data),
            mime_type=image.mime_type,
        )
        return image

    return google_genai.call(attempt, models=models, name="image", prompt=prompt)
