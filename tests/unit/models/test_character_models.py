"""What `/characters/analyze` returns is always accepted back as a `character` (CharacterRef)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

from contentgen.models.characters import Character, CharacterReply, character_ref_limit, check_image_url
from contentgen.models.common import CharacterRef
from contentgen.models.schema import SOFT_TRIMS, SoftTrim, strict_json_schema


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


@pytest.mark.slow  # 40 generated replies
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(instance=from_schema(strict_json_schema(CharacterReply)))
def test_every_reply_the_schema_allows_becomes_an_accepted_character(instance: dict[str, Any]) -> None:
    reply = CharacterReply.model_validate(instance, context={SOFT_TRIMS: []})

    character = Character.model_validate(reply.model_dump())

    CharacterRef.model_validate(character.model_dump())


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "HTTPS://EXAMPLE.com:443/a.png?size=large#top",
        "https://例え.jp/x.png",
        "https://8.8.8.8/x.png",
        "https://[2001:4860:4860::8888]/x.png",
        "https://cafe/x.png",
    ],
)
def test_a_public_https_url_is_accepted(url: str) -> None:
    assert check_image_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/a.png", "https"),
        ("https://", "host"),
        ("https://[::1", "not a valid URL"),
        ("https://a.b:99999/x.png", "not a valid URL"),
        ("https://a.b:0/x.png", "port"),
        ("https://a.b/\ud800", "not a valid URL"),
        ("https://exa\x00mple.com/x.png", "control"),
        ("https://a.b/\x7f", "control"),
        ("https://user:pass@a.b/x.png", "user name or password"),
        ("https://@a.b/x.png", "user name or password"),
        ("https://localhost./x.png", "localhost"),
        ("https://img.localhost/x.png", "localhost"),
        ("https://127.0.0.1/x.png", "loopback"),
        ("https://127.1/x.png", "loopback"),
        ("https://0x7f.0.0.1/x.png", "loopback"),
        ("https://2130706433/x.png", "loopback"),
        ("https://0.0.0.0/x.png", "loopback"),
        ("https://192.168.1.1/x.png", "private"),
        ("https://172.16.0.1/x.png", "private"),
        ("https://100.64.0.1/x.png", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://224.0.0.1/x.png", "reserved"),
        ("https://[::1]/x.png", "loopback"),
        ("https://[::ffff:127.0.0.1]/x.png", "loopback"),
        ("https://[fc00::1]/x.png", "private"),
        ("https://[fe80::1]/x.png", "link-local"),
    ],
)
def test_an_image_url_the_provider_must_not_fetch_is_refused(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_image_url(url)
