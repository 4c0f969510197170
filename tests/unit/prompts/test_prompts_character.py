"""The character's look is carried into visual prompts (`contentgen.prompts.characters.carry_look`)."""

from __future__ import annotations

from contentgen.models.common import CharacterRef
from contentgen.prompts.characters import carry_look
from contentgen.prompts.media import thumbnail_prompt

PIP = CharacterRef(name="Pip", visual_prompt="A small copper robot with one blue eye.")


def test_a_prompt_with_the_look_is_left_alone_whatever_the_case_and_spacing() -> None:
    prompt = "Wide shot: a small  COPPER robot with one blue eye. paints a sunset"
    assert carry_look(prompt, PIP) == prompt


def test_a_prompt_without_the_look_gets_it_in_front() -> None:
    assert (
        carry_look("Pip paints a sunset", PIP)
        == "A small copper robot with one blue eye. Pip paints a sunset"
    )


def test_without_a_character_nothing_changes() -> None:
    assert carry_look("a sunset", None) == "a sunset"


def test_the_thumbnail_prompt_describes_the_character() -> None:
    assert PIP.visual_prompt in thumbnail_prompt("at the easel", PIP)
    assert "copper" not in thumbnail_prompt("at the easel")
