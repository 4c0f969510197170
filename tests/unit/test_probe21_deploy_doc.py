"""probe21: docs/deploy.md, the page a deployer reads, still says what issue 21 made untrue.

It says "Imagen and Veo need Vertex AI in express mode ... With the Developer API set `ImageModel`
to a Gemini image model; videos then answer 503 naming the switch." After issue 21 Imagen is shut
down (2026-08-17, the catalog), the image default already is a Gemini image model, and videos on
the Developer API (one Gemini key, the seed's setup) run on Gemini Omni through the Interactions
API (docs/models.md "Video on one Gemini API key, or on Vertex AI"). A team with one AI Studio key
reads that its videos cannot work, and that it must change `ImageModel`."""

from __future__ import annotations

from local.template import ROOT


def test_deploy_doc_does_not_say_videos_fail_on_the_developer_api() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()

    assert "videos then answer\n503" not in text.replace("answer 503", "answer\n503")
    assert "Imagen and Veo need Vertex AI" not in text
