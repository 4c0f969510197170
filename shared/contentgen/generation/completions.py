"""One chat completion through OpenRouter, under the call policy, with usage and cost recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import openai
from openai.types.chat import ChatCompletion

from contentgen.billing.prices import MESSAGE_OVERHEAD_TOKENS, has_text_price, priced_chain, text_cost_bound
from contentgen.catalog import accepted_parameters, bare_model_id, status
from contentgen.config import get_settings
from contentgen.connectors.openai_connector import PROVIDER, OpenRouterBodyError, malformed_reply, openrouter
from contentgen.core.retry import Attempt, announce_model_gone, gone_model_message
from contentgen.errors import ContentFilteredError, ContentgenError
from contentgen.observability import logger

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletionMessageParam


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def billed_cost(usage: Mapping[str, Any]) -> float | None:
    """What one OpenRouter request cost in USD, from its `usage` extras; None when it says nothing.

    `usage.cost` is what OpenRouter charged the account. With a provider key of our own (BYOK,
    `usage.is_byok`), that is only OpenRouter's fee: the provider billed our key
    `usage.cost_details.upstream_inference_cost` as well, so the request cost both. OpenRouter
    documents the upstream figure as applying to BYOK requests only, so it is added unless the
    reply says `is_byok: false`. Source (read 2026-12-06):
    https://openrouter.ai/docs/use-cases/usage-accounting ("cost: The total amount charged to your
    account; cost_details.upstream_inference_cost: The actual cost charged by the upstream AI
    provider. Note: The upstream_inference_cost field only applies to BYOK requests.")."""
    cost = _number(usage.get("cost"))
    details = usage.get("cost_details")
    upstream = _number(details.get("upstream_inference_cost")) if isinstance(details, Mapping) else None
    if upstream is None or usage.get("is_byok") is False:
        return cost
    return (cost or 0.0) + upstream


def _prompt_text(messages: list[ChatCompletionMessageParam]) -> str:
    """The messages as one text for the log line (images are named, never inlined)."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(f"{message['role']}: {content}")
        elif isinstance(content, list):
            texts = [
                str(part.get("text", f"[{part.get('type')}]")) for part in content if isinstance(part, dict)
            ]
            parts.append(f"{message['role']}: {' '.join(texts)}")
    return "\n".join(parts)


# The UTF-8 length of a response format's JSON, per schema: `strict_json_schema` hands every warm
# request of a (model, lengths) the same schema object (read-only), so it is encoded once, not per
# request. Each entry keeps its schema object, so the id cannot be reused by another object.
_format_lengths: dict[int, tuple[object, tuple[object, ...], int]] = {}
_MAX_FORMAT_LENGTHS = 256


def _encoded_length(response_format: dict[str, Any] | None) -> int:
    """`len(json.dumps(response_format).encode())`, 0 for None; remembered for a
    `{"type", "json_schema": {"name", "strict", "schema"}}` format whose schema object was seen."""
    if response_format is None:
        return 0
    spec = response_format.get("json_schema")
    if set(response_format) != {"type", "json_schema"} or not isinstance(spec, dict):
        return len(json.dumps(response_format).encode())
    if set(spec) != {"name", "strict", "schema"}:
        return len(json.dumps(response_format).encode())
    schema, key = spec["schema"], (response_format["type"], spec["name"], spec["strict"])
    known = _format_lengths.get(id(schema))
    if known is not None and known[0] is schema and known[1] == key:
        return known[2]
    length = len(json.dumps(response_format).encode())
    if len(_format_lengths) >= _MAX_FORMAT_LENGTHS:
        _format_lengths.clear()  # schemas for many different lengths: start again
    _format_lengths[id(schema)] = (schema, key, length)
    return length


# `json.dumps(messages, default=str)` with its encoder made once: the same text.
_encode_messages = json.JSONEncoder(default=str).encode


def _cost_bound(
    messages: list[ChatCompletionMessageParam],
    models: Sequence[str],
    response_format: dict[str, Any] | None,
    max_tokens: int | None,
) -> Any:
    """`cost_bound(model)` for the call policy: the most a request sent to `model` can cost, over
    every model OpenRouter may answer with (the `models` list it is given). The prompt is bounded
    by the UTF-8 bytes of the messages and the schema as sent (JSON), images by their count."""
    sent = _encode_messages(messages).encode()
    images = sent.count(b'"image_url"')
    prompt_bytes = len(sent) + _encoded_length(response_format) + MESSAGE_OVERHEAD_TOKENS * len(messages)

    def bound(model: str) -> Decimal:
        position = list(models).index(model) if model in models else 0
        answering = [model, *models[position + 1 :]][:OPENROUTER_MAX_MODELS]
        return max(
            text_cost_bound(name, prompt_bytes=prompt_bytes, images=images, max_tokens=max_tokens)
            for name in answering
        )

    return bound


# Native finish reasons that mean a safety filter stopped the model, whatever OpenRouter's
# normalised `finish_reason` says: OpenRouter can label them "stop" and keep the provider's word in
# `native_finish_reason` (https://github.com/reVrost/go-openrouter/pull/43). Gemini's
# `FinishReason` (https://ai.google.dev/api/generate-content#FinishReason): SAFETY, RECITATION,
# BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT, IMAGE_RECITATION;
# OpenAI's `content_filter` (https://platform.openai.com/docs/api-reference/chat/object); Anthropic's
# `refusal` stop reason (https://docs.anthropic.com/en/api/handling-stop-reasons).
FILTERED_NATIVE_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "CONTENT_FILTER",
        "REFUSAL",
    }
)


def _filtered_native_reason(native: object) -> str | None:
    """`native_finish_reason` when it names a safety stop (any case; Vertex AI's
    `FINISH_REASON_` prefix accepted), else None."""
    if not isinstance(native, str):
        return None
    name = native.strip().upper().removeprefix("FINISH_REASON_")
    return native if name in FILTERED_NATIVE_FINISH_REASONS else None


def _check_reply(completion: ChatCompletion, model: str) -> None:
    """Raise for a 200 that is not an answer (see `complete_chat`).

    Shapes, from OpenRouter's "Errors" and "Streaming" pages and OpenAI's structured-outputs guide
    (https://platform.openai.com/docs/guides/structured-outputs#refusals: `message.content` null,
    `message.refusal` the model's words):
    - top-level `error`, no `choices` → `OpenRouterBodyError`;
    - `choices` missing or empty → `OpenRouterBodyError` (502, no answer);
    - a choice with `finish_reason: "error"` and an `error` object → `OpenRouterBodyError`;
    - `message.refusal` → `ContentFilteredError` with the refusal;
    - `finish_reason: "content_filter"` → `ContentFilteredError` (the text was cut by the filter);
    - a `native_finish_reason` naming a safety stop (`FILTERED_NATIVE_FINISH_REASONS`), whatever
      `finish_reason` says ("stop" included) → `ContentFilteredError` naming it.
    """
    body_error = (completion.model_extra or {}).get("error")
    if body_error is not None:
        raise OpenRouterBodyError(body_error, default_message=f"{model} failed during generation")
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise OpenRouterBodyError(None, default_message=f"{model} returned no choices")
    choice = choices[0]
    finish_reason = str(choice.finish_reason) if choice.finish_reason else None
    if finish_reason == "error":
        raise OpenRouterBodyError(
            (choice.model_extra or {}).get("error"), default_message=f"{model} failed during generation"
        )
    refusal = getattr(choice.message, "refusal", None)
    if refusal:
        raise ContentFilteredError(f"{model} declined the request: {refusal}")
    native = (choice.model_extra or {}).get("native_finish_reason")
    if finish_reason == "content_filter":
        detail = f" ({native})" if native and native != finish_reason else ""
        raise ContentFilteredError(
            f"{model}'s content filter withheld the output (finish_reason content_filter{detail})"
        )
    filtered = _filtered_native_reason(native)
    if filtered is not None:
        raise ContentFilteredError(
            f"{model}'s safety filter stopped the output (native_finish_reason {filtered}, "
            f"finish_reason {finish_reason})"
        )


# OpenRouter accepts a short `models` list (the primary first); longer chains go on client-side.
OPENROUTER_MAX_MODELS = 3


def complete_chat(
    messages: list[ChatCompletionMessageParam],
    *,
    models: Sequence[str],
    response_format: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    review: Callable[[ChatResult, Attempt], None] | None = None,
) -> ChatResult:
    """Ask the first model of `models` that answers; raise `ProviderError` when none does.

    `review(result, attempt)`: what the caller makes of the answer, put on the answering request's
    record before it is written (the call policy's `review`).

    OpenRouter is also given the list as `models`, so it falls back on its side before answering;
    the reply's `model` names the model that answered (and that was billed). A structured request
    (`response_format`) also sends `provider: {"require_parameters": true}`, so OpenRouter routes
    only to endpoints that honour the schema (https://openrouter.ai/docs/features/provider-routing).
    `max_tokens` and `temperature` are sent only when every model of the request's chain takes
    them (`contentgen.catalog.accepted_parameters`): a default model without `temperature` (the
    catalog's `parameters`) gets none, so `require_parameters` never turns it into "No endpoints".

    What a 200 can still carry (`_check_reply`): a failure reported in the body raises
    `OpenRouterBodyError`, classified by the call policy like an HTTP status (retried, counted by
    the breaker, fallback; finally 502/503 quoting OpenRouter); a model that declines (a
    strict-schema `refusal`, `finish_reason: "content_filter"`, a safety `native_finish_reason`)
    raises `ContentFilteredError` (422 `content_filtered`, the provider's words) after that one
    request. A 200 that is not a chat completion (not JSON, broken JSON) is a provider server error
    (`OpenRouterMalformedReply`, classified by the connector): retried, then 502 quoting it.
    """
    wanted: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
    # A model without a catalog price is never asked: no reservation bounds what it costs.
    models = priced_chain(models, has_text_price, "TEXT_MODEL / VISION_MODEL and their fallbacks")

    def attempt(client: OpenAI, call: Attempt) -> ChatResult:
        # OpenRouter usage accounting adds `usage.cost` (credits, USD) to the reply.
        extra_body: dict[str, Any] = {"usage": {"include": True}}
        chain = [call.model, *call.fallbacks][:OPENROUTER_MAX_MODELS]
        if call.fallbacks:
            extra_body["models"] = chain
        # Only what every model that may serve this request accepts (the model catalog): a sampling
        # parameter one of them does not take is left out rather than refused upstream.
        options: dict[str, Any] = accepted_parameters(chain, wanted)
        if response_format is not None:
            options["response_format"] = response_format
        if response_format is not None:
            extra_body["provider"] = {"require_parameters": True}
        completion: ChatCompletion = client.chat.completions.create(
            model=call.model,
            messages=messages,
            timeout=call.timeout,
            extra_body=extra_body,
            **options,
        )
        if not isinstance(completion, ChatCompletion):
            # A 200 that is not JSON comes back from the SDK as its text (a proxy's HTML page).
            raise malformed_reply(completion)
        usage = getattr(completion, "usage", None)
        cost = billed_cost(usage.model_extra or {}) if usage is not None else None
        choices = getattr(completion, "choices", None) or []
        choice = choices[0] if choices else None
        result = ChatResult(
            content=(choice.message.content if choice is not None else None) or "",
            model=getattr(completion, "model", None) or call.model,
            finish_reason=str(choice.finish_reason) if choice is not None and choice.finish_reason else None,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cost_usd=cost,
        )
        call.report(
            answered_by=result.model,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
            response_id=getattr(completion, "id", None),
            output=result.content,
            finish_reason=result.finish_reason,
        )
        _check_reply(completion, result.model)
        return result

    result = openrouter.call(
        attempt,
        models=models,
        name="chat.completions",
        prompt=_prompt_text(messages),
        cost_bound=_cost_bound(messages, models, response_format, max_tokens),
        review=review,
    )
    _report_walked_past(models, result.model)
    return result


# Primaries already looked up after OpenRouter answered with another model: model -> monotonic
# time until which it is not looked up again (the "model gone" TTL).
_looked_up: dict[str, float] = {}
_looked_up_lock = threading.Lock()


def _report_walked_past(models: Sequence[str], answered_by: str) -> None:
    """OpenRouter walks its `models` list itself (https://openrouter.ai/docs/guides/routing/model-fallbacks,
    read 2026-12-07: "If the first model returns an error, OpenRouter will automatically try the
    next model ... priced using the model that was ultimately used, which will be returned in the
    `model` attribute of the response body"). So a retired primary never fails here: every request
    silently runs (and is billed) on the fallback. When the answer's `model` is not the first asked,
    whether the first is gone is decided without a paid call: the catalog (shut down on today), else
    OpenRouter's free endpoint list of that model (`GET /api/v1/models/{author}/{slug}/endpoints`,
    https://openrouter.ai/docs/api/api-reference/endpoints/list-endpoints, read 2026-12-07: 404 for
    a model it does not know; no endpoint left: no provider serves it), looked up once per TTL per
    container. A gone primary is announced like any other (`announce_model_gone`: one warning
    naming its successor, one `ModelUnavailable` metric) and is not asked again in the TTL; a
    primary that is only down, rate limited or refused this request is left alone."""
    first = models[0] if models else None
    if first is None or bare_model_id(answered_by) == bare_model_id(first):
        return
    if gone_model_message(PROVIDER, first) is not None:
        return
    if status(first) == "shut_down":
        announce_model_gone(
            PROVIDER, first, f"{first} is shut down (model catalog); OpenRouter answered with {answered_by}"
        )
        return
    now = time.monotonic()
    with _looked_up_lock:
        if _looked_up.get(first, 0.0) > now:
            return
        _looked_up[first] = now + get_settings().model_unavailable_ttl_seconds
    try:
        endpoints = model_endpoints(first)
    except ContentgenError as exc:
        logger.info("model endpoints not read", extra={"model": first, "reason": exc.message})
        return
    if endpoints is None or not endpoints:
        words = "is not a model OpenRouter knows" if endpoints is None else "has no endpoint left"
        announce_model_gone(PROVIDER, first, f"{first} {words} (OpenRouter answered with {answered_by})")


def reset_walked_past() -> None:
    """Forget which primaries were looked up (a new container; tests)."""
    with _looked_up_lock:
        _looked_up.clear()


def model_endpoints(model: str) -> list[dict[str, Any]] | None:
    """OpenRouter's endpoints of `model` (free metadata, `GET /models/{author}/{slug}/endpoints`);
    None when OpenRouter answers 404 (it does not know the model). Other failures raise the call
    policy's `ProviderError`."""

    def attempt(client: OpenAI, call: Attempt) -> list[dict[str, Any]] | None:
        try:
            answer = client.get(
                f"/models/{model}/endpoints", cast_to=object, options={"timeout": call.timeout}
            )
        except openai.NotFoundError:
            call.report(output="404")
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        found = data.get("endpoints") if isinstance(data, dict) else None
        call.report(output=f"{len(found) if isinstance(found, list) else 0} endpoints")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    # One attempt, no backoff (`wait=False`): the caller's answer is already paid and waits on this
    # free lookup; a failed lookup is only logged (and tried again after the TTL).
    return openrouter.call(attempt, models=[model], name="models.endpoints", new_work=False, wait=False)
