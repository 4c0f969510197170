"""POST /thumbnails: a thumbnail image, stored in S3, answered with a presigned URL."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.media import ThumbnailRequest, ThumbnailResponse
from contentgen.services.thumbnails import generate_thumbnail
from contentgen.stores.media import fresh_thumbnail_url

app = create_app()


@app.post("/thumbnails")
def thumbnail(request: Annotated[ThumbnailRequest, Body(embed=False)]) -> ThumbnailResponse:
    return generate_thumbnail(request)


# A replayed answer (Idempotency-Key) gets a URL signed again: the stored one may have expired.
lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/thumbnails"), on_replay=fresh_thumbnail_url)
