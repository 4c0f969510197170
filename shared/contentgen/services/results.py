"""Results of event-triggered generations, read by request_id."""

from __future__ import annotations

from typing import Any

from contentgen.errors import NotFoundError
from contentgen.models.events import RequestId
from contentgen.results import get_result


def read_result(request_id: RequestId) -> dict[str, Any]:
    found = get_result(request_id)
    if found is None:
        raise NotFoundError(f"no result for request {request_id}")
    return found
