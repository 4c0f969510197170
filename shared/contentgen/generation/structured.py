"""The one way to get structured output from a model.

Asks through `response_format: {"type": "json_schema", "strict": true}` with array lengths pinned
and accepts every reply that satisfies the schema it sent:

- the JSON is taken from the first reply even when the model wrapped it in prose or a code fence
  (the first complete JSON object that validates);
- limits strict mode cannot carry are soft: a string over its `SoftMaxLength` is trimmed at a word
  boundary, a reply model's `soft_problems` (e.g. duplicate idea titles) are kept; both go on the
  answering request's own record: its "provider call" line is then a WARNING naming them
  (`trimmed`, `problems`) and its EMF blob counts them (`SoftLimitTrimmed`, `SoftProblems`);
  never re-asked;
- what follows from position (indexes, meme beats) is derived by the services, not asked for.

A reply that is not JSON, breaks the schema (types, enums, `pattern`, pinned array sizes) or was
cut at the token limit (`finish_reason: "length"`, named with `max_tokens`) is re-asked once with
the problem; then `ModelOutputError` (502). Transport failures are retried below this, in
`contentgen.core.retry`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from contentgen.core.retry import Attempt
from contentgen.errors import ModelOutputError
from contentgen.generation.completions import ChatResult, complete_chat
from contentgen.models.schema import SOFT_TRIMS, SoftTrim, Structured, length_problems, strict_json_schema
from contentgen.observability import logger

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionContentPartParam, ChatCompletionMessageParam

ModelT = TypeVar("ModelT", bound=BaseModel)

REASK = (
    "Your previous reply could not be used: {problems}. Reply again with only the JSON object, "
    "matching the schema exactly, with every array holding exactly the number of items asked for."
)
# JSON objects tried per reply: the whole reply, then each `{` in prose around it.
MAX_CANDIDATES = 32


class _InvalidOutput(Exception):
    """The reply was received but cannot be used; the message is safe to send back to the model."""


# One decoder for every reply, as `json.loads` keeps one (`json._default_decoder`): making one builds
# its scanner, 12 µs of a warm request.
_DECODER = json.JSONDecoder()


def _json_objects(content: str) -> Iterator[Any]:
    """The JSON values in a reply: the whole reply if it is JSON, else each complete JSON object
    that starts at a `{` (prose before or after it, a code fence around it), first to last."""
    text = content.strip()
    try:
        yield json.loads(text)
        return
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    tried = 0
    while start != -1 and tried < MAX_CANDIDATES:
        tried += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        yield value
        start = text.find("{", end)


def _validate(output: type[ModelT], data: Any, lengths: Mapping[str, int], trims: list[SoftTrim]) -> ModelT:
    problems = length_problems(data, lengths)
    if problems:
        raise _InvalidOutput("; ".join(problems[:5]))
    try:
        return output.model_validate(data, context={SOFT_TRIMS: trims})
    except ValidationError as exc:
        details = [
            f"{'.'.join(str(part) for part in error['loc']) or 'reply'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise _InvalidOutput("; ".join(details[:5])) from None


def _cut_off(max_tokens: int | None) -> str:
    limit = (
        f"max_tokens={max_tokens}"
        if max_tokens is not None
        else "max_tokens (not set: the model's own limit)"
    )
    return (
        f'the reply was cut off at the token limit (finish_reason "length", {limit}) before the JSON was '
        "complete; be more concise"
    )


def parse_reply(
    output: type[ModelT],
    result: ChatResult,
    lengths: Mapping[str, int],
    *,
    max_tokens: int | None = None,
    trims: list[SoftTrim] | None = None,
) -> ModelT:
    """The first JSON object in the reply that validates as `output` with the pinned `lengths`.

    Strings over a soft limit are trimmed and recorded in `trims`. Raises `_InvalidOutput` with a
    short, value-free summary of what is wrong with the first JSON object found (or that there is
    none, or that the reply was cut off at `max_tokens`).
    """
    first_problem: str | None = None
    for data in _json_objects(result.content):
        attempt_trims: list[SoftTrim] = []
        try:
            value = _validate(output, data, lengths, attempt_trims)
        except _InvalidOutput as exc:
            first_problem = first_problem or str(exc)
            continue
        if trims is not None:
            trims.extend(attempt_trims)
        return value
    if result.finish_reason == "length":
        raise _InvalidOutput(_cut_off(max_tokens))
    raise _InvalidOutput(_syntax_problem(result.content) or first_problem or "the reply holds no JSON object")


def _syntax_problem(content: str) -> str | None:
    """Why the reply's JSON does not parse (the whole reply, or from its first `{` on), if it does not."""
    text = content.strip()
    try:
        json.loads(text)
        return None
    except json.JSONDecodeError as exc:
        error = exc
    start = text.find("{")
    if start != -1:
        try:
            json.JSONDecoder().raw_decode(text, start)
            return None
        except json.JSONDecodeError as exc:
            error = exc
    return f"the reply is not valid JSON ({error.msg} at position {error.pos})"


class _Reading:
    """What `generate_structured` made of one answer: the value, or why it cannot be used."""

    __slots__ = ("problem", "value")

    def __init__(self) -> None:
        self.value: BaseModel | None = None
        self.problem: str | None = None


def _reviewer(
    output: type[ModelT], pinned: Mapping[str, int], max_tokens: int | None, reading: _Reading
) -> Callable[[ChatResult, Attempt], None]:
    """The call policy's `review` of a structured answer: parsed and validated (into `reading`)
    before the request's record is written, so a reply accepted despite soft limits is named on
    that record (one line and one blob per request, not a second of each)."""

    def review(result: ChatResult, attempt: Attempt) -> None:
        trims: list[SoftTrim] = []
        try:
            value = parse_reply(output, result, pinned, max_tokens=max_tokens, trims=trims)
        except _InvalidOutput as exc:
            reading.problem = str(exc)
            return
        reading.value = value
        soft_check = getattr(value, "soft_problems", None)
        soft: list[str] = list(soft_check()) if callable(soft_check) else []
        if not trims and not soft:
            return
        record = attempt.record
        record.details["schema"] = output.__name__
        if trims:
            record.details["trimmed"] = [
                {"field": trim.field, "limit": trim.limit, "original_chars": trim.original_chars}
                for trim in trims
            ]
            record.reply_problems["SoftLimitTrimmed"] = len(trims)
        if soft:
            record.details["problems"] = soft[:10]
            record.reply_problems["SoftProblems"] = len(soft)

    return review


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
    must have that many items.

    Raises `ModelOutputError` (502) when the reply and its one re-ask both fail (not JSON, schema
    broken, or cut off at `max_tokens`), and the call policy's errors (`ProviderError` family).
    """
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
        reading = _Reading()
        result = complete_chat(
            messages,
            models=models,
            response_format=response_format,
            temperature=temperature,
            max_tokens=max_tokens,
            review=_reviewer(output, pinned, max_tokens, reading),
        )
        answered_by = result.model
        if reading.problem is not None:
            problem = reading.problem
            logger.warning(
                "model output invalid",
                extra={
                    "model": result.model,
                    "attempt": attempt,
                    "schema": output.__name__,
                    "problem": problem,
                    "finish_reason": result.finish_reason,
                },
            )
            messages = [
                *messages,
                {"role": "assistant", "content": result.content},
                {"role": "user", "content": REASK.format(problems=problem)},
            ]
            continue
        value = reading.value
        if not isinstance(value, output):  # reviewed on every answer: only a bug gets here
            raise RuntimeError(f"the answer of {result.model} was not reviewed")
        return Structured(value, result.model)
    raise ModelOutputError(f"{answered_by} returned output that does not match {output.__name__}: {problem}")
