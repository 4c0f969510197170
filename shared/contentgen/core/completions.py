"""One chat completion through OpenRouter, under the call policy, with usage and cost recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contentgen.connectors.openai_connector import OpenRouterBodyError, openrouter
from contentgen.core.retry import Attempt
from contentgen.errors import ContentFilteredError

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None


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


def _check_reply(completion: ChatCompletion, model: str) -> None:
    """Raise for a 200 that is not an answer (see `complete_chat`).

    Shapes, from OpenRouter's "Errors" and "Streaming" pages and OpenAI's structured-outputs guide
    (https://platform.openai.com/docs/guides/structured-outputs#refusals: `message.content` null,
    `message.refusal` the model's words):
    - top-level `error`, no `choices` → `OpenRouterBodyError`;
    - `choices` missing or empty → `OpenRouterBodyError` (502, no answer);
    - a choice with `finish_reason: "error"` and an `error` object → `OpenRouterBodyError`;
    - `message.refusal` → `ContentFilteredError` with the refusal;
    - `finish_reason: "content_filter"` → `ContentFilteredError` (the text was cut by the filter).
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
    if finish_reason == "content_filter":
        native = (choice.model_extra or {}).get("native_finish_reason")
        detail = f" ({native})" if native and native != finish_reason else ""
        raise ContentFilteredError(
            f"{model}'s content filter withheld the output (finish_reason content_filter{detail})"
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
) -> ChatResult:
    """Ask the first model of `models` that answers; raise `ProviderError` when none does.

    OpenRouter is also given the list as `models`, so it falls back on its side before answering;
    the reply's `model` names the model that answered (and that was billed). A structured request
    (`response_format`) also sends `provider: {"require_parameters": true}`, so OpenRouter routes
    only to endpoints that honour the schema (https://openrouter.ai/docs/features/provider-routing).

    What a 200 can still carry (`_check_reply`): a failure reported in the body raises
    `OpenRouterBodyError`, classified by the call policy like an HTTP status (retried, counted by
    the breaker, fallback; finally 502/503 quoting OpenRouter); a model that declines (a
    strict-schema `refusal`, `finish_reason: "content_filter"`) raises `ContentFilteredError`
    (422 `content_filtered`, the provider's words) after that one request.
    """
    options: dict[str, Any] = {}
    if response_format is not None:
        options["response_format"] = response_format
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if temperature is not None:
        options["temperature"] = temperature

    def attempt(client: OpenAI, call: Attempt) -> ChatResult:
        # OpenRouter usage accounting adds `usage.cost` (credits, USD) to the reply.
        extra_body: dict[str, Any] = {"usage": {"include": True}}
        if call.fallbacks:
            extra_body["models"] = [call.model, *call.fallbacks][:OPENROUTER_MAX_MODELS]
        if response_format is not None:
            extra_body["provider"] = {"require_parameters": True}
        completion: ChatCompletion = client.chat.completions.create(
            model=call.model,
            messages=messages,
            timeout=call.timeout,
            extra_body=extra_body,
            **options,
        )
        usage = getattr(completion, "usage", None)
        cost = (usage.model_extra or {}).get("cost") if usage is not None else None
        choices = getattr(completion, "choices", None) or []
        choice = choices[0] if choices else None
        result = ChatResult(
            content=(choice.message.content if choice is not None else None) or "",
            model=getattr(completion, "model", None) or call.model,
            finish_reason=str(choice.finish_reason) if choice is not None and choice.finish_reason else None,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
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

    return openrouter.call(attempt, models=models, name="chat.completions", prompt=_prompt_text(messages))
