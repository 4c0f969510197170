"""What `/characters/analyze` returns is always accepted back as a `character` (CharacterRef)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from contentgen.core.schema import SOFT_TRIMS, SoftTrim, strict_json_schema
from contentgen.models.characters import Character, CharacterReply, character_ref_limit
from contentgen.models.common import CharacterRef


@pytest.mark.parametrize(
    ("field", "limit"),
    [("name", 80), ("personality_cues", 300), ("visual_prompt", 1200), ("art_style", 600)],
)
def test_the_limits_are_read_from_character_ref(field: str, limit: int) -> None:
    assert character_ref_limit(field) == limit


def test_a_reply_over_character_refs_limits_is_trimmed_at_a_word_and_accepted_as_a_character() -> None:
    trims: list[SoftTrim] = []
    reply = CharacterReply.model_validate(
        {
            "name": "Captain Marguerite Delacroix-Okonkwo of the Northern Lighthouse Guild and Keeper of Lamps",
            "appearance": "weathered face",
            "clothing": "oilskin coat",
            "personality_cues": ["steady " * 60, "wry"],
            "art_style": "ink wash",
            "visual_prompt": "an old lighthouse keeper in an oilskin coat",
        },
        context={SOFT_TRIMS: trims},
    )

    assert reply.name == "Captain Marguerite Delacroix-Okonkwo of the Northern Lighthouse Guild and Keeper"
    assert len(reply.personality_cues[0]) <= 300
    assert reply.personality_cues[0].endswith("steady")
    assert [trim.field for trim in trims] == ["CharacterReply.name", "CharacterReply.personality_cues"]
    CharacterRef.model_validate(Character.model_validate(reply.model_dump()).model_dump())


@settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(instance=from_schema(strict_json_schema(CharacterReply)))
def test_every_reply_the_schema_allows_becomes_an_accepted_character(instance: dict[str, Any]) -> None:
    reply = CharacterReply.model_validate(instance, context={SOFT_TRIMS: []})

    character = Character.model_validate(reply.model_dump())

    CharacterRef.model_validate(character.model_dump())
