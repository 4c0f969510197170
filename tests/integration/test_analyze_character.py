"""POST /characters/analyze over the wire: the image goes to the vision model, never fetched here."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from contentgen.catalog import default_chain
from local.lambda_context import LocalLambdaContext
from local.runtime import load_handler
from local.template import functions
from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

FUNCTION = "AnalyzeCharacterFunction"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
GIF = b"GIF89a" + b"\x00" * 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_part(stack: Stack) -> dict[str, Any]:
    content = stack.provider.requests()[0]["body"]["messages"][-1]["content"]
    part: dict[str, Any] = next(part for part in content if part["type"] == "image_url")
    return part


def test_https_url_is_passed_to_the_vision_model(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"image_url": "https://images.example.com/hero.png"})

    assert status == 200
    character = answer["character"]
    assert {"name", "appearance", "clothing", "personality_cues", "art_style", "visual_prompt"} <= set(
        character
    )
    assert character["visual_prompt"]
    assert image_part(stack)["image_url"]["url"] == "https://images.example.com/hero.png"
    assert stack.provider.requests()[0]["body"]["model"] == answer["model"]


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_base64_image_goes_as_a_data_url(stack: Stack, invoke: Invoke, data: bytes, mime: str) -> None:
    status, _ = invoke(FUNCTION, {"image_base64": b64(data)})

    assert status == 200
    assert image_part(stack)["image_url"]["url"] == f"data:{mime};base64,{b64(data)}"


def test_malformed_reply_is_reasked(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "malformed"})

    assert invoke(FUNCTION, {"image_base64": b64(PNG), "mime_type": "image/png"})[0] == 200
    assert len(stack.provider.requests()) == 2


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        ({}, "image_url or image_base64"),
        ({"image_url": "https://x.example/a.png", "image_base64": b64(PNG)}, "image_url or image_base64"),
        ({"image_url": "http://x.example/a.png"}, "image_url"),
        ({"image_url": "ftp://x.example/a.png"}, "image_url"),
        ({"image_base64": "not base64!!"}, "image_base64"),
        ({"image_base64": b64(b"just some text, not an image")}, "image_base64"),
        ({"image_base64": b64(GIF)}, "image_base64"),
        ({"image_base64": b64(PNG), "mime_type": "image/jpeg"}, "mime_type"),
        ({"image_base64": b64(PNG), "mime_type": "image/gif"}, "mime_type"),
        ({"image_url": "https://x.example/a.png", "mime_type": "image/png"}, "mime_type"),
    ],
)
def test_invalid_image_is_a_4xx_naming_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], mention: str
) -> None:
    status, answer = invoke(FUNCTION, body)

    assert status == 422
    assert mention in answer["message"]
    assert stack.provider.requests() == [], "nothing is sent to the provider"


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1",
        "https://exa\u0000mple.com/x.png",
        "https://a.b:99999/x.png",
        "https://a.b:0/x.png",
        "https://user:pass@a.b/x.png",
        "https://a.b/x y.png",
        "https://localhost/x.png",
        "https://127.0.0.1/x.png",
        "https://2130706433/x.png",
        "https://10.1.2.3/x.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/x.png",
        "https://[::ffff:192.168.0.1]/x.png",
        "https://[fe80::1]/x.png",
    ],
)
def test_an_image_url_the_provider_must_not_fetch_is_422_before_any_provider_call(
    stack: Stack, invoke: Invoke, url: str
) -> None:
    # The provider fetches the URL: a malformed one, or one naming a host on a private network,
    # is refused here, naming the field (issue 15).
    status, answer = invoke(FUNCTION, {"image_url": url})

    assert status == 422, answer
    assert answer["errors"][0]["field"] == "image_url"
    assert stack.provider.requests() == [], "nothing is sent to the provider"


def test_image_over_5_mib_is_refused(stack: Stack, invoke: Invoke) -> None:
    big = PNG + b"\x00" * (5 * 1024 * 1024)

    request = {"image_base64": b64(big), "mime_type": "image/png"}
    status, answer = invoke(FUNCTION, request)
    direct = load_handler(functions()[FUNCTION])(request, LocalLambdaContext(function_name=FUNCTION))

    # Over HTTP its base64 is past the 6 MiB body bound (Lambda's own payload limit): 413.
    assert (status, answer["code"]) == (413, "payload_too_large")
    assert direct["status_code"] == 422
    assert "image_base64" in direct["message"]
    assert "5242880 bytes" in direct["message"]
    assert stack.provider.requests() == []


def test_what_analyze_returns_is_accepted_as_the_character_of_story_segments(
    stack: Stack, invoke: Invoke
) -> None:
    # A model's reply within the strict schema sent (lengths are only described there): a name and
    # a personality cue longer than CharacterRef accepts (80 and 300 characters).
    reply = {
        "name": "Captain Marguerite Delacroix-Okonkwo of the Northern Lighthouse Guild and Keeper of Lamps",
        "appearance": "weathered face, silver braid",
        "clothing": "yellow oilskin coat",
        "personality_cues": ["steady and watchful, " * 20, "wry"],
        "art_style": "ink wash with warm highlights",
        "visual_prompt": "an old lighthouse keeper with a silver braid in a yellow oilskin coat",
    }
    completion = {
        "id": "gen-character",
        "object": "chat.completion",
        "created": 1764500000,
        "model": default_chain("vision")[0],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": json.dumps(reply)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 90, "total_tokens": 130},
    }
    stack.provider.faults({"kind": "raw", "target": "openai", "status": 200, "body": completion})

    status, analyzed = invoke(FUNCTION, {"image_url": "https://images.example.com/keeper.png"})

    assert status == 200, analyzed
    assert len(stack.provider.requests()) == 1, "trimmed, not re-asked"
    character = analyzed["character"]
    assert len(character["name"]) <= 80
    assert all(len(cue) <= 300 for cue in character["personality_cues"])
    status, story = invoke(
        "StorySegmentsFunction", {"prompt": "the last night", "segment_count": 2, "character": character}
    )
    assert status == 200, story
