"""One chat completion through OpenRouter, under the call policy, with usage and cost recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contentgen.connectors.openai_connector import openrouter
from contentgen.core.retry import Attempt
from contentgen.errors import ModelOutputError

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
    the reply's `model` names the model that answered (and that was billed).
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
        completion: ChatCompletion = client.chat.completions.create(
            model=call.model,
            messages=messages,
            timeout=call.timeout,
            extra_body=extra_body,
            **options,
        )
        if not completion.choices:
            raise ModelOutputError(f"{call.model} returned no choices")
        choice = completion.choices[0]
        usage = completion.usage
        cost = (usage.model_extra or {}).get("cost") if usage is not None else None
        result = ChatResult(
            content=choice.message.content or "",
            model=completion.model or call.model,
            finish_reason=choice.finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
        )
        call.report(
            answered_by=result.model,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
            response_id=completion.id,
            output=result.content,
            finish_reason=result.finish_reason,
        )
        return result

    return openrouter.call(attempt, models=models, name="chat.completions", prompt=_prompt_text(messages))
