"""Deterministic content that satisfies a requested JSON schema, for the provider emulator.

Beyond the schema it follows the conventions the services validate: in an array of enum values
the first item takes the first value and the last item the last (setup ... punchline), and titles
within one reply differ.
"""

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
    "The map was wrong on purpose, and only one of them knew why.",
    "By sunrise the rumour had a name, and the name was hers.",
    "She smiled at the camera as if she had planned the whole disaster.",
    "Somewhere below, an engine coughed to life and the chase began.",
]
_TITLES = [
    "{T}",
    "{T}: What Nobody Tells You",
    "{T} in 60 Seconds",
    "I Tried {T} for a Week",
    "{T}, Ranked",
    "The {T} Mistake Everyone Makes",
    "{T} vs. Expectations",
    "Day One of {T}",
]
# Values for fields whose name says what they hold (character sheets, outlines).
_FIXED: dict[str, list[str]] = {
    "name": ["Mira Vale", "Tomas Reyes", "Old Jun"],
    "tense": ["past tense"],
    "point_of_view": ["third person, following the main character"],
    "setting": ["A rain-soaked coastal town in the present day, neon signs over wet cobblestones"],
    "art_style": ["Painterly digital illustration, warm palette, soft rim lighting"],
    "look": [
        "young woman, short silver hair, freckles, amber eyes, red wool scarf",
        "tall man in his forties, grey stubble, navy pea coat, brass-rimmed glasses",
        "elderly baker, round face, flour-dusted apron, kind crinkled eyes",
    ],
    "role": ["protagonist", "rival who becomes an ally", "keeper of the secret"],
    "appearance": ["Young woman, short silver hair, freckles, amber eyes, slim build"],
    "clothing": ["Red wool scarf, navy pea coat, brass-buttoned boots"],
    "personality_cues": ["confident half-smile", "guarded posture", "curious, searching gaze"],
}


def _title_case(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split())


_LOOK = "a young woman with short silver hair and a red scarf, soft cinematic lighting, painterly style"
_MARKERS = ("Story idea:", "Meme idea:", "Niche:", "Analyse")


def topic_of(text: str) -> str:
    """A few words of the caller's idea, to make replies recognisably about the prompt."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    candidate = lines[-1] if lines else "the story"
    for number, line in enumerate(lines):
        marker = next((m for m in _MARKERS if line.startswith(m)), None)
        if marker is not None:
            rest = line[len(marker) :].strip()
            candidate = rest or (lines[number + 1] if number + 1 < len(lines) else candidate)
            break
    else:
        title = re.search(r'"title":\s*"([^"]+)"', text)
        if title:
            candidate = title.group(1)
    words = re.findall(r"[\w'-]+", candidate)
    return " ".join(words[:8]) or "the story"


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16)


def _string(name: str, index: int, count: int, topic: str, seed: int, schema: dict[str, Any]) -> str:
    key = name.lower()
    if "enum" in schema:
        values = schema["enum"]
        if count > 1 and index == count - 1:
            return str(values[-1])
        if index == 0:
            return str(values[0])
        return str(values[1:-1][(index - 1) % len(values[1:-1])] if len(values) > 2 else values[0])
    if key in _FIXED:
        options = _FIXED[key]
        value = options[index % len(options)]
    elif key == "title":
        template = _TITLES[index % len(_TITLES)]
        value = template.format(T=_title_case(topic)) + (f" #{index + 1}" if index >= len(_TITLES) else "")
    elif key in ("text", "narration"):
        value = _NARRATION[(index + seed) % len(_NARRATION)].format(topic=topic)
    elif "visual" in key or key.endswith("prompt"):
        value = f"Vertical 9:16 shot, beat {index + 1} of a story about {topic}: {_LOOK}"
    elif key == "caption":
        value = ["POV: it's Monday again", "Wait for it...", "It gets worse", "Nobody: / Me:"][index % 4]
    elif key == "hook":
        value = f"Nobody tells you this about {topic}."
    elif key == "why_now":
        value = f"Searches for {topic} are climbing this week and few creators cover it yet."
    elif key in ("content", "story_so_far", "summary", "logline"):
        value = f"A short piece about {topic}, part {index + 1}."
    else:
        value = f"{name.replace('_', ' ')} {index + 1} about {topic}"
    limit = re.search(r"at most (\d+) characters", str(schema.get("description", "")))
    max_length = schema.get("maxLength") or (int(limit.group(1)) if limit else None)
    return value[:max_length].rstrip() if isinstance(max_length, int) else value


def instance_for(schema: dict[str, Any], *, prompt: str, size_delta: int = 0) -> Any:
    """Build a value matching `schema` (objects, arrays, strings, numbers, enums, $refs, anyOf).

    `size_delta` makes every pinned array that many items longer (to emulate a wrong-sized reply).
    """
    definitions = {**schema.get("$defs", {}), **schema.get("definitions", {})}
    topic = topic_of(prompt)
    seed = _seed(prompt)

    def build(node: dict[str, Any], name: str, index: int, count: int) -> Any:
        if "$ref" in node:
            return build(definitions[node["$ref"].rsplit("/", 1)[-1]], name, index, count)
        for combinator in ("anyOf", "oneOf"):
            if combinator in node:
                options = [option for option in node[combinator] if str(option.get("type")).lower() != "null"]
                return build(options[0] if options else {"type": "null"}, name, index, count)
        kind = str(node.get("type", "object" if "properties" in node else "string")).lower()
        if kind == "object":
            return {key: build(value, key, index, count) for key, value in node.get("properties", {}).items()}
        if kind == "array":
            size = max(int(node.get("minItems", 3)) + (size_delta if "maxItems" in node else 0), 0)
            return [build(node.get("items", {}), name, position, size) for position in range(size)]
        if kind in ("integer", "number"):
            return int(node.get("minimum", index + 1))
        if kind == "boolean":
            return index % 2 == 0
        if kind == "null":
            return None
        return _string(name, index, count, topic, seed, node)

    return build(schema, "reply", 0, 1)


def first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""
