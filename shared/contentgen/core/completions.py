"""One chat completion through OpenRouter, under the retry policy, with usage and cost recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contentgen.connectors.openai_connector import PROVIDER, openrouter
from contentgen.errors import ModelOutputError
from contentgen.observability import logger, provider_span, record_provider_call

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
    timing: dict[str, float] = {}

    def attempt(client: OpenAI, timeout: float) -> ChatCompletion:
        options: dict[str, Any] = {}
        if response_format is not None:
            options["response_format"] = response_format
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if temperature is not None:
            options["temperature"] = temperature
        started = time.perf_counter()
        completion: ChatCompletion = client.chat.completions.create(
            model=model,
            messages=messages,
            timeout=timeout,
            # OpenRouter usage accounting: adds `usage.cost` (credits, USD) to the reply.
            extra_body={"usage": {"include": True}},
            **options,
        )
        timing["latency_ms"] = (time.perf_counter() - started) * 1000
        return completion

    with provider_span(f"## {PROVIDER} chat.completions", model):
        completion = openrouter.call(attempt)

    if not completion.choices:
        raise ModelOutputError(f"{model} returned no choices")
    choice = completion.choices[0]
    usage = completion.usage
    cost = (usage.model_extra or {}).get("cost") if usage is not None else None
    result = ChatResult(
        content=choice.message.content or "",
        model=completion.model or model,
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )
    record_provider_call(
        provider=PROVIDER,
        model=result.model,
        latency_ms=timing.get("latency_ms", 0.0),
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
    )
    logger.info(
        "provider call",
        extra={
            "provider": PROVIDER,
            "model": result.model,
            "latency_ms": round(timing.get("latency_ms", 0.0), 1),
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cost_usd": result.cost_usd,
            "finish_reason": result.finish_reason,
        },
    )
    logger.debug("provider reply", extra={"model": result.model, "content": result.content})
    return result
