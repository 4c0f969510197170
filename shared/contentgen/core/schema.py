"""JSON Schemas for `response_format: json_schema` in strict mode, derived from Pydantic models.

Strict mode wants every object closed (`additionalProperties: false`) with every property
required, and supports only part of JSON Schema: string length limits are moved into the field's
description (models follow it) and enforced by Pydantic's validation of the reply. Array lengths
are pinned per request (`minItems` = `maxItems`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from pydantic import BaseModel

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
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if key in lengths and isinstance(value, list) and len(value) != lengths[key]:
                problems.append(f"{where}: expected exactly {lengths[key]} items, got {len(value)}")
            problems.extend(length_problems(value, lengths, where))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            problems.extend(length_problems(item, lengths, f"{path}[{index}]"))
    return problems
