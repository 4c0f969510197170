"""The one way to get structured output from a model.

Asks through `response_format: {"type": "json_schema", "strict": true}` with array lengths pinned,
validates the reply with the Pydantic model and the pinned lengths, re-asks once with the
validation problems when the reply is malformed, truncated or the wrong size, and otherwise raises
`ModelOutputError` (502). Transport failures are retried below this, in `contentgen.core.retry`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from contentgen.core.completions import ChatResult, complete_chat
from contentgen.core.schema import length_problems, strict_json_schema
from contentgen.errors import ModelOutputError
from contentgen.observability import logger

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

ModelT = TypeVar("ModelT", bound=BaseModel)

REASK = (
    "Your previous reply could not be used: {problems}. Reply again with only the JSON object, "
    "matching the schema exactly, with every array holding exactly the number of items asked for."
)


@dataclass(frozen=True)
class Structured(Generic[ModelT]):
    value: ModelT
    model: str


class _InvalidOutput(Exception):
    """The reply was received but cannot be used; the message is safe to send back to the model."""


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def parse_reply(output: type[ModelT], result: ChatResult, lengths: Mapping[str, int]) -> ModelT:
    """Validate one reply; raise `_InvalidOutput` with a short, value-free summary of what is wrong."""
    if result.finish_reason == "length":
        raise _InvalidOutput("the reply was cut off at the token limit; be more concise")
    try:
        data: Any = json.loads(_strip_fences(result.content))
    except json.JSONDecodeError as exc:
        raise _InvalidOutput(f"the reply is not valid JSON ({exc.msg} at position {exc.pos})") from None
    problems = length_problems(data, lengths)
    if problems:
        raise _InvalidOutput("; ".join(problems[:5]))
    try:
        return output.model_validate(data)
    except ValidationError as exc:
        details = [
            f"{'.'.join(str(part) for part in error['loc']) or 'reply'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise _InvalidOutput("; ".join(details[:5])) from None


def generate_structured(
    output: type[ModelT],
    *,
    system: str,
    user: str | list[ChatCompletionContentPartParam],
    models: Sequence[str],
    lengths: Mapping[str, int] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Structured[ModelT]:
    """Ask the models (first that answers) for an instance of `output`; arrays named in `lengths`
    must have that many items."""
    pinned = lengths or {}
    response_format = {
        "type": "json_schema",
        "json_schema": {
            "name": output.__name__,
            "strict": True,
            "schema": strict_json_schema(output, pinned),
        },
    }
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    problem = ""
    answered_by = models[0]
    for attempt in (1, 2):
        result = complete_chat(
            messages,
            models=models,
            response_format=response_format,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        answered_by = result.model
        try:
            return Structured(parse_reply(output, result, pinned), result.model)
        except _InvalidOutput as exc:
            problem = str(exc)
            logger.warning(
                "model output invalid",
                extra={
                    "model": result.model,
                    "attempt": attempt,
                    "schema": output.__name__,
                    "problem": problem,
                },
            )
            messages = [
                *messages,
                {"role": "assistant", "content": result.content},
                {"role": "user", "content": REASK.format(problems=problem)},
            ]
    raise ModelOutputError(f"{answered_by} returned output that does not match {output.__name__}: {problem}")
