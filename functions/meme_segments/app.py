"""POST /memes/segments: meme-format segments (setup, escalation, punchline)."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.memes import MemeSegmentsRequest, MemeSegmentsResponse
from contentgen.services.memes import generate_meme_segments

app = create_app()


@app.post("/memes/segments")
def meme_segments(request: Annotated[MemeSegmentsRequest, Body(embed=False)]) -> MemeSegmentsResponse:
    return generate_meme_segments(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/memes/segments"))
