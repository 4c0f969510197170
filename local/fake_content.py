"""Deterministic content that satisfies a requested JSON schema, for the provider emulator.

It writes what a real model may write within the schema, not what the services would like:
string lengths vary, from a few words to near and past the limit a description gives ("at most N
characters", which strict mode cannot enforce); enum values come in any order; and `reply_text`
sometimes wraps the JSON in a code fence or a sentence of prose. Everything is seeded from the
prompt, so one request always gets the same answer and tests stay reproducible.
"""

from __future__ import annotations

import hashlib
import json
import random
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


# What a model adds when it writes long: whole sentences of scene detail, each at most once per
# string, so a long answer still reads as text (never a cut phrase or a list of words repeated).
# About 1,700 characters in all (the longest soft limit is 1,500), and short ones last to land
# close to a length.
_DETAILS = (
    "Rain streaks the window.",
    "Warm lamps glow behind her.",
    "A slow push-in holds on his face.",
    "The street is empty but for one bicycle.",
    "Fog rolls in from the harbour.",
    "A neon sign flickers above the door.",
    "Somewhere a radio plays an old song.",
    "Steam rises from a paper cup.",
    "The camera stays low and close.",
    "Shadows stretch across the tiles.",
    "A cat watches from the windowsill.",
    "Her breath shows in the cold air.",
    "The clock on the wall has stopped.",
    "Puddles mirror the traffic lights.",
    "Golden hour light spills over the rooftops.",
    "Dust floats in a beam of sunlight.",
    "A train rattles past in the distance.",
    "The crowd parts without a sound.",
    "Wind tugs at the edges of the posters.",
    "His shoes are still wet from the river.",
    "A single candle lights the table.",
    "The background falls into a soft blur.",
    "Colours are muted, almost grey.",
    "A gull cries over the pier.",
    "The frame tilts as the boat rocks.",
    "Leaves skitter along the pavement.",
    "Her scarf is the only red in the scene.",
    "The lens catches a faint flare.",
    "Footsteps echo under the bridge.",
    "Nobody else seems to notice.",
    "A door creaks open down the hall.",
    "Snow begins to fall, slowly at first.",
    "The market stalls are half packed away.",
    "Thunder rolls somewhere far off.",
    "Ink stains cover his fingertips.",
    "The map on the table is torn at one corner.",
    "A kettle whistles in the next room.",
    "Moths circle the porch light.",
    "The last bus pulls away from the stop.",
    "Paint is still drying on the canvas.",
    "Headlights sweep across the ceiling.",
    "Her reflection looks back, unsure.",
    "Bells ring out from the old tower.",
    "A paper boat drifts along the gutter.",
    "The hallway smells of fresh bread.",
    "Every window on the block is dark.",
    "It is quiet.",
    "Nobody moves.",
    "Then silence.",
    "Wait.",
    "Yes.",
)


def _sentences(rng: random.Random) -> list[str]:
    """The padding sentences in a seeded order, each once, the short ones last."""
    long = [sentence for sentence in _DETAILS if len(sentence) > 15]
    rng.shuffle(long)
    return [*long, *(sentence for sentence in _DETAILS if len(sentence) <= 15)]


def _length_varied(value: str, limit: int | None, rng: random.Random) -> str:
    """`value` as written, or continued with whole sentences to near `limit` or past it (about
    one in six each): near is within a tenth below the limit, past is 1 to 60 characters over."""
    if limit is None:
        return value
    roll = rng.random()
    if roll < 2 / 3:
        return value
    over = roll >= 5 / 6
    target = limit + rng.randint(1, 60) if over else limit - rng.randint(0, max(limit // 10, 1))
    text = value.rstrip()
    if text and text[-1] not in ".!?…":
        text += "."
    pool = _sentences(rng)
    while pool:
        room = target - len(text) - 1
        fitting = next((sentence for sentence in pool if len(sentence) <= room), None)
        if fitting is None:
            if over and len(text) <= limit:  # past the limit, as asked: the shortest that crosses it
                fitting = min(pool, key=len)
            else:
                break
        pool.remove(fitting)
        text = f"{text} {fitting}"
    return text if len(text) > len(value) + 1 or over else value


def _string(name: str, index: int, count: int, topic: str, seed: int, schema: dict[str, Any]) -> str:
    key = name.lower()
    rng = random.Random(_seed(str(seed), name, str(index)))
    if "enum" in schema:
        return str(rng.choice(schema["enum"]))
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
    return _length_varied(value, max_length if isinstance(max_length, int) else None, rng)


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


def reply_text(schema: dict[str, Any], *, prompt: str, size_delta: int = 0) -> str:
    """The model's whole reply for `schema`: the JSON of `instance_for`, as is or (about one reply
    in four each) inside a json code fence or between sentences of prose, as models write it."""
    body = json.dumps(instance_for(schema, prompt=prompt, size_delta=size_delta), ensure_ascii=False)
    roll = random.Random(_seed(prompt, "wrapping")).random()
    if roll < 0.25:
        return f"```json\n{body}\n```"
    if roll < 0.5:
        return f"Here is the JSON you asked for:\n\n{body}\n\nLet me know if you want another take."
    return body


def first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            return str(content or "")
    return ""
