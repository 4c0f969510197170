"""POST /videos starts a video job (202); GET /videos/{job_id} reports it."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.media import VideoJobAccepted, VideoJobStatus, VideoRequest
from contentgen.services.videos import start_video_job, video_job_status

app = create_app()


def base_path() -> str:
    """What the caller's URL holds before the route's path: `/prod` when called behind the stage
    (API Gateway's `requestContext.path` is `/prod/videos` for the route `/videos`), empty on a
    custom domain's root, on the local gateway without a stage, and for direct invocations."""
    event = app.current_event.raw_event
    requested = str((event.get("requestContext") or {}).get("path") or "")
    route_path = str(event.get("path") or "")
    if route_path and requested.endswith(route_path):
        return requested[: len(requested) - len(route_path)].rstrip("/")
    return ""


@app.post("/videos", status_code=202, response_description="The job was started")
def start(request: Annotated[VideoRequest, Body(embed=False)]) -> Response[VideoJobAccepted]:
    """202 with the job and, in `Location` and `status_url`, where to follow it."""
    accepted = start_video_job(request, base_path=base_path())
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.status_url},
    )


@app.get("/videos/<job_id>")
def status(job_id: str) -> VideoJobStatus:
    return video_job_status(job_id)


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/videos"))
