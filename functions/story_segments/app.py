"""POST /stories/segments: a short story split into narrated segments."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.stories import StorySegmentsRequest, StorySegmentsResponse
from contentgen.services.stories import generate_story_segments

app = create_app()


@app.post("/stories/segments")
def story_segments(request: Annotated[StorySegmentsRequest, Body(embed=False)]) -> StorySegmentsResponse:
    return generate_story_segments(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))
