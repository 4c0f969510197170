"""Deterministic content that satisfies a requested JSON schema, for the provider emulator."""

from __future__ import annotations

import hashlib
import re
from typing import Any

_NARRATION = [
    "Nobody believed {topic} could happen, until the lights went out at midnight.",
    "She counted the seconds, knowing one wrong move would give everything away.",
    "A stranger's whisper changed the plan, and the clock kept ticking louder.",
    "The door opened on the one face she never expected to see again.",
    "For a moment the whole street held its breath, waiting for her answer.",
    "He laughed, but his hands were shaking as he reached for the key.",
    "The truth was hidden in plain sight, written on the back of a photograph.",
    "Every choice had led here, to a rooftop in the rain and a final promise.",
]
_LOOK = "a young woman with short silver hair and a red scarf, soft cinematic lighting, painterly style"


def topic_of(text: str) -> str:
    """A few words of the caller's idea, to make replies recognisably about the prompt."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    words = re.findall(r"[\w'-]+", lines[-1] if lines else "the story")
    return " ".join(words[:8]) or "the story"


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16)


def _string(name: str, index: int, topic: str, schema: dict[str, Any]) -> str:
    key = name.lower()
    if "enum" in schema:
        return str(schema["enum"][index % len(schema["enum"])])
    if key == "title":
        value = f"{topic.title()}"
    elif key in ("text", "narration"):
        value = _NARRATION[(index + _seed(topic)) % len(_NARRATION)].format(topic=topic)
    elif "visual" in key or key.endswith("prompt"):
        value = f"Vertical 9:16 shot, beat {index + 1} of a story about {topic}: {_LOOK}"
    elif key == "caption":
        value = f"Wait for it... ({index + 1})"
    elif key == "content":
        value = f"A short piece about {topic}."
    else:
        value = f"{name.replace('_', ' ')} {index + 1} about {topic}"
    max_length = schema.get("maxLength")
    return value[:max_length] if isinstance(max_length, int) else value


def instance_for(schema: dict[str, Any], *, topic: str, size_delta: int = 0) -> Any:
    """Build a value matching `schema` (objects, arrays, strings, numbers, enums, $refs, anyOf).

    `size_delta` makes every pinned array that many items longer (to emulate a wrong-sized reply).
    """
    definitions = {**schema.get("$defs", {}), **schema.get("definitions", {})}

    def build(node: dict[str, Any], name: str, index: int) -> Any:
        if "$ref" in node:
            return build(definitions[node["$ref"].rsplit("/", 1)[-1]], name, index)
        for combinator in ("anyOf", "oneOf"):
            if combinator in node:
                options = [option for option in node[combinator] if str(option.get("type")).lower() != "null"]
                return build(options[0] if options else {"type": "null"}, name, index)
        kind = str(node.get("type", "object" if "properties" in node else "string")).lower()
        if kind == "object":
            return {key: build(value, key, index) for key, value in node.get("properties", {}).items()}
        if kind == "array":
            count = int(node.get("minItems", 3)) + (size_delta if "maxItems" in node else 0)
            return [build(node.get("items", {}), name, position) for position in range(max(count, 0))]
        if kind in ("integer", "number"):
            return int(node.get("minimum", index + 1))
        if kind == "boolean":
            return index % 2 == 0
        if kind == "null":
            return None
        return _string(name, index, topic, node)

    return build(schema, "reply", 0)
