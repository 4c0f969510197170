"""The emulator's default content: what a real model may write within the schema, reproducibly."""

from __future__ import annotations

import json
import re
from typing import Any

from contentgen.generation.structured import _json_objects
from contentgen.models.ideas import IdeasReply
from contentgen.models.memes import CAPTION_MAX, MemeReply
from contentgen.models.schema import strict_json_schema
from contentgen.models.stories import StoryReply
from local.fake_content import reply_text

PROMPTS = [f"Meme idea:\nidea number {number}" for number in range(40)]
MEME_SCHEMA = strict_json_schema(MemeReply, {"segments": 4})


def _instance(text: str) -> Any:
    return next(_json_objects(text))


def test_the_same_prompt_gets_the_same_reply() -> None:
    assert reply_text(MEME_SCHEMA, prompt=PROMPTS[0]) == reply_text(MEME_SCHEMA, prompt=PROMPTS[0])


def test_every_reply_has_the_shape_asked_for() -> None:
    for prompt in PROMPTS:
        instance = _instance(reply_text(MEME_SCHEMA, prompt=prompt))
        assert list(instance) == ["segments"]
        assert len(instance["segments"]) == 4
        for segment in instance["segments"]:
            assert list(segment) == ["text", "caption", "visual_prompt"]
            assert all(isinstance(value, str) and value.strip() for value in segment.values())


def test_string_lengths_vary_up_to_and_past_the_limit_in_the_description() -> None:
    captions = [
        segment["caption"]
        for prompt in PROMPTS
        for segment in _instance(reply_text(MEME_SCHEMA, prompt=prompt))["segments"]
    ]

    assert any(len(caption) < CAPTION_MAX // 2 for caption in captions)
    assert any(CAPTION_MAX * 0.85 <= len(caption) <= CAPTION_MAX for caption in captions)
    assert any(len(caption) > CAPTION_MAX for caption in captions)


def test_enum_values_come_in_any_order() -> None:
    schema = strict_json_schema(IdeasReply, {"ideas": 3})
    firsts = {
        _instance(reply_text(schema, prompt=f"Niche: topic {number}"))["ideas"][0]["format"]
        for number in range(30)
    }

    assert len(firsts) > 2, "not the first enum value by convention"


def test_some_replies_are_fenced_or_wrapped_in_prose() -> None:
    texts = [reply_text(MEME_SCHEMA, prompt=prompt) for prompt in PROMPTS]

    assert any(text.startswith("```json") for text in texts)
    assert any(not text.startswith(("{", "```")) for text in texts)
    bare = [text for text in texts if text.startswith("{")]
    assert bare
    assert all(isinstance(json.loads(text), dict) for text in bare)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_long_answers_read_like_text() -> None:
    """What the emulator writes past a string's usual length is whole sentences (issue 23): no
    sentence starting in lower case after a full stop, no run of words repeated, and a string
    that runs long ends as a sentence does."""
    story_schema = strict_json_schema(StoryReply, {"segments": 6})
    strings = [
        text
        for number in range(40)
        for schema, prompt in (
            (MEME_SCHEMA, PROMPTS[number]),
            (story_schema, f"Story idea:\na lighthouse {number}"),
        )
        for text in _strings(_instance(reply_text(schema, prompt=prompt)))
    ]
    long = [text for text in strings if len(text) > 150]
    assert len(long) > 20, "some strings run long"
    for text in strings:
        assert not re.search(r"[.!?] [a-z]", text), text
        words = text.split()
        runs = [" ".join(words[i : i + 4]) for i in range(len(words) - 3)]
        assert len(runs) == len(set(runs)), f"words repeated: {text}"
    padded = [text for text in long if text.count(". ") >= 2]
    assert padded
    assert all(text.rstrip()[-1] in ".!?" for text in padded)
