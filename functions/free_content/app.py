"""POST /content: free-form text for a prompt."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.content import ContentRequest, ContentResponse
from contentgen.services.content import generate_content

app = create_app()


@app.post("/content")
def free_content(request: Annotated[ContentRequest, Body(embed=False)]) -> ContentResponse:
    return generate_content(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/content"))
