"""POST /characters/analyze: a structured description of the character in an image."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.characters import CharacterAnalysisRequest, CharacterAnalysisResponse
from contentgen.services.characters import analyze_character

app = create_app()


@app.post("/characters/analyze")
def character_analysis(
    request: Annotated[CharacterAnalysisRequest, Body(embed=False)],
) -> CharacterAnalysisResponse:
    return analyze_character(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/characters/analyze"))
