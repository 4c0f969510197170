"""GET /health: shallow, answers without calling a provider or SSM.

GET /health?deep=true (API key required): checks SSM and each provider, see
`contentgen.services.health.deep_health_report`.
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.http import ApiError, HealthReport
from contentgen.services.health import deep_health_report, health_report
from contentgen.stores.access import require_api_key

app = create_app()


@app.get(
    "/health",
    security=[],
    responses={
        200: {"description": "Healthy", "content": {"application/json": {"model": HealthReport}}},
        403: {
            "description": "deep=true without a key of the usage plan",
            "content": {"application/json": {"model": ApiError}},
        },
        422: {"description": "deep is not a boolean", "content": {"application/json": {"model": ApiError}}},
        503: {
            "description": "deep=true: a dependency failed",
            "content": {"application/json": {"model": HealthReport}},
        },
    },
)
def health(deep: Annotated[bool, Query()] = False) -> Response[str]:
    if not deep:
        return Response(200, content_types.APPLICATION_JSON, json.dumps(health_report()))
    require_api_key(app.current_event.headers.get("x-api-key"))
    status, report = deep_health_report()
    return Response(status, content_types.APPLICATION_JSON, json.dumps(report))


lambda_handler = lambda_entrypoint(app, direct_route=("GET", "/health"))
