"""GET /openapi.json: the API's OpenAPI 3 document, without a key.

The document is generated from every function's resolver and models by `local/openapi.py`
(`make openapi`) and packaged next to this file; the function only reads it (once per container)
and never imports the other functions.
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types

from contentgen.entrypoints.api import create_app, lambda_entrypoint

DOCUMENT = Path(__file__).resolve().parent / "openapi.json"

app = create_app()


@cache
def _document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@app.get(
    "/openapi.json",
    security=[],
    responses={
        200: {
            "description": "The OpenAPI 3.1 document of this API",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def openapi_document() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, _document())


lambda_handler = lambda_entrypoint(app, direct_route=("GET", "/openapi.json"))
