"""Results of event-triggered generations, read by request_id."""

from __future__ import annotations

from typing import Any

from contentgen.errors import NotFoundError
from contentgen.models.events import RequestId
from contentgen.stores.media import fresh_thumbnail_url
from contentgen.stores.results import get_result

THUMBNAILS_ROUTE = "/thumbnails"


def read_result(request_id: RequestId, api_key_id: str) -> dict[str, Any]:
    """The stored outcome of `request_id` (`StoredResult`'s fields), when it was charged to the
    calling key `api_key_id`. A thumbnail's `image_url` is signed again, so it works for
    `expires_in` seconds from this read, however old the result.

    Raises NotFoundError (404) when the id is unknown, its request has not finished, or it belongs
    to another key (the same answer: ids are guessable, e.g. `order-42`)."""
    found = get_result(request_id, api_key_id)
    if found is None:
        raise NotFoundError(f"no result for request {request_id}")
    if found["route"] == THUMBNAILS_ROUTE and found["status"] == "succeeded":
        found["result"] = fresh_thumbnail_url(found["status_code"], found["result"])
    return found
