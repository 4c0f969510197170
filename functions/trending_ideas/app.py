"""POST /ideas/trending: trending content ideas for a niche."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import openai  # noqa: F401 - before Powertools: measured faster (docs/benchmark.md)

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.ideas import TrendingIdeasRequest, TrendingIdeasResponse
from contentgen.services.ideas import generate_trending_ideas

app = create_app()


@app.post("/ideas/trending")
def trending_ideas(request: Annotated[TrendingIdeasRequest, Body(embed=False)]) -> TrendingIdeasResponse:
    return generate_trending_ideas(request)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/ideas/trending"))
