"""POST /stories/segments/sets: several alternative sets of story segments for one prompt."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.stories import StorySetsRequest, StorySetsResponse
from contentgen.services.stories import generate_story_sets

app = create_app()


@app.post("/stories/segments/sets")
def story_segments_in_sets(request: Annotated[StorySetsRequest, Body(embed=False)]) -> StorySetsResponse:
    return generate_story_sets(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/stories/segments/sets"))
