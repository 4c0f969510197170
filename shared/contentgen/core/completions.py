"""One chat completion through OpenRouter, under the retry policy, with usage and cost recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contentgen.connectors.openai_connector import PROVIDER, openrouter
from contentgen.errors import ModelOutputError
from contentgen.observability import logger, provider_call

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


def complete_chat(
    messages: list[ChatCompletionMessageParam],
    *,
    model: str,
    response_format: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
) -> ChatResult:
    """Ask `model` once (plus transport retries); raise `ProviderError` when that fails."""
    options: dict[str, Any] = {}
    if response_format is not None:
        options["response_format"] = response_format
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if temperature is not None:
        options["temperature"] = temperature

    def attempt(client: OpenAI, timeout: float) -> ChatCompletion:
        completion: ChatCompletion = client.chat.completions.create(
            model=model,
            messages=messages,
            timeout=timeout,
            # OpenRouter usage accounting: adds `usage.cost` (credits, USD) to the reply.
            extra_body={"usage": {"include": True}},
            **options,
        )
        return completion

    with provider_call(provider=PROVIDER, model=model, operation="chat.completions") as record:
        completion = openrouter.call(attempt)
        if not completion.choices:
            raise ModelOutputError(f"{model} returned no choices")
        choice = completion.choices[0]
        usage = completion.usage
        cost = (usage.model_extra or {}).get("cost") if usage is not None else None
        record.model = completion.model or model
        record.prompt_tokens = usage.prompt_tokens if usage else None
        record.completion_tokens = usage.completion_tokens if usage else None
        record.cost_usd = float(cost) if isinstance(cost, int | float) else None
        record.details["finish_reason"] = choice.finish_reason
    content = choice.message.content or ""
    logger.debug("provider reply", extra={"model": record.model, "content": content})
    return ChatResult(
        content=content,
        model=record.model,
        finish_reason=choice.finish_reason,
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
    )
