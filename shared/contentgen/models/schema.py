"""JSON Schemas for `response_format: json_schema` in strict mode, derived from Pydantic models.

Strict mode wants every object closed (`additionalProperties: false`) with every property
required, and supports only part of JSON Schema. For strings that is `pattern` and `format`, not
`minLength` / `maxLength`; for arrays `minItems` / `maxItems` (OpenAI, Structured Outputs guide,
"Supported schemas": https://platform.openai.com/docs/guides/structured-outputs#supported-schemas;
the same keyword lists are in openai-java's `JsonSchemaValidator`). So:

- "not blank" travels as `pattern: "\\S"` (`NON_BLANK`) and is validated;
- a string's length limit is a `SoftMaxLength`: it goes into the field's description (models
  follow it) and is never a reason to refuse a reply: a longer string is trimmed at a word
  boundary and reported (`SoftLimitTrimmed`), see `contentgen.generation.structured`;
- array lengths are pinned per request (`minItems` = `maxItems`) and validated.

Whatever a reply model validates hard must be expressible in the schema sent, so a reply that
satisfies that schema is always accepted (tests/integration/test_structured_properties.py).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

StructuredT = TypeVar("StructuredT", bound=BaseModel)


@dataclass(frozen=True)
class Structured(Generic[StructuredT]):
    """A validated structured reply (`value`) and the model that answered it (`model`, the id
    the provider reported), as `contentgen.generation.structured` returns and paid parts store."""

    value: StructuredT
    model: str


# "Has at least one character that is not whitespace": the non-empty check strict mode can carry.
NON_BLANK = r"\S"
# Where `generate_structured` collects the soft limits applied while validating one reply.
SOFT_TRIMS = "soft_trims"


@dataclass(frozen=True)
class SoftTrim:
    """One string cut to its soft limit: where (`Model.field`), the limit and the original length."""

    field: str
    limit: int
    original_chars: int


_UP_TO_LAST_SPACE = re.compile(r".*\s", re.DOTALL)


def trim_at_word(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at the last whitespace before the limit.

    Leading and trailing whitespace go first; a first word longer than `limit` is cut inside.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    last_space = _UP_TO_LAST_SPACE.match(head)  # one C-level scan, not a Python step per space (warm path)
    cut = last_space.end() - 1 if last_space else -1
    kept = head[:cut].rstrip() if cut > 0 else ""
    return kept or text[:limit].rstrip()


@dataclass(frozen=True)
class SoftMaxLength:
    """A string length limit strict mode cannot carry: described to the model, trimmed on the reply.

    `Annotated[str, SoftMaxLength(400)]` puts `maxLength: 400` in the generated JSON schema (moved
    into the description by `strict_json_schema`) and, on validation, trims a longer value at a
    word boundary (`trim_at_word`) instead of refusing it; each trim is appended to the list in the
    validation context under `SOFT_TRIMS`, when there is one, for the caller to log and count.
    """

    chars: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self._trim, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.chars
        return json_schema

    def _trim(self, value: str, info: ValidationInfo) -> str:
        if len(value) <= self.chars:
            return value
        trimmed = trim_at_word(value, self.chars)
        trims = info.context.get(SOFT_TRIMS) if isinstance(info.context, dict) else None
        if isinstance(trims, list):
            owner = info.config.get("title", "reply") if info.config else "reply"
            trims.append(SoftTrim(f"{owner}.{info.field_name}", self.chars, len(value)))
        return trimmed


# Keywords strict mode rejects or ignores; Pydantic still enforces them on the reply.
_UNSUPPORTED = ("default", "minLength", "maxLength", "title")


@cache
def _base_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    _close_objects(schema)
    return schema


def _close_objects(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("maxLength"), int):
            limit = f"at most {node['maxLength']} characters"
            node["description"] = f"{node['description']} ({limit})" if node.get("description") else limit
        for keyword in _UNSUPPORTED:
            if keyword in node and not isinstance(node[keyword], dict):
                node.pop(keyword)
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for item in node:
            _close_objects(item)


def _pin_lengths(node: Any, lengths: Mapping[str, int]) -> None:
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            if name in lengths and isinstance(prop, dict) and prop.get("type") == "array":
                prop["minItems"] = prop["maxItems"] = lengths[name]
        for value in node.values():
            _pin_lengths(value, lengths)
    elif isinstance(node, list):
        for item in node:
            _pin_lengths(item, lengths)


@lru_cache(maxsize=512)
def _pinned_schema(model: type[BaseModel], lengths: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    schema = copy.deepcopy(_base_schema(model))
    _pin_lengths(schema, dict(lengths))
    return schema


def strict_json_schema(model: type[BaseModel], lengths: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The strict schema for `model`, with arrays named in `lengths` pinned to that many items.

    Built once per (model, lengths) and shared across warm invocations: treat it as read-only.
    """
    return _pinned_schema(model, tuple(sorted((lengths or {}).items())))


def length_problems(data: Any, lengths: Mapping[str, int], path: str = "") -> list[str]:
    """Where the parsed reply has arrays of the wrong size (any depth), as readable strings."""
    problems: list[str] = []
    _walk_lengths(data, lengths, (path,) if path else (), problems)
    return problems


def _walk_lengths(data: Any, lengths: Mapping[str, int], trail: tuple[Any, ...], problems: list[str]) -> None:
    """`length_problems`' walk: the path is kept as its parts and written out only for a problem
    (a warm request walks every node of the reply, and almost never finds one)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in lengths and isinstance(value, list) and len(value) != lengths[key]:
                where = _path_text((*trail, key))
                problems.append(f"{where}: expected exactly {lengths[key]} items, got {len(value)}")
            if isinstance(value, dict | list):
                _walk_lengths(value, lengths, (*trail, key), problems)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            if isinstance(item, dict | list):
                _walk_lengths(item, lengths, (*trail, index), problems)


def _path_text(trail: tuple[Any, ...]) -> str:
    """`a.b[2].c` from ("a", "b", 2, "c") (a leading part may already be a written path)."""
    text = ""
    for part in trail:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text
