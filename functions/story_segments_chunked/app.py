"""POST /stories/segments/chunked: a long story generated chunk by chunk, one continuous narrative."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.stories import ChunkedStoryRequest, StorySegmentsResponse
from contentgen.services.stories import generate_chunked_story

app = create_app()


@app.post("/stories/segments/chunked")
def story_segments_chunked(
    request: Annotated[ChunkedStoryRequest, Body(embed=False)],
) -> StorySegmentsResponse:
    return generate_chunked_story(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/stories/segments/chunked"))
