"""contentgen.entrypoints.starts: the idempotency scope and key naming a durable start, and the
base path its status URL is built on (what POST /videos and POST /shorts read from their event)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contentgen.entrypoints.starts import base_path, start_key, started
from contentgen.models.media import VideoJobAccepted
from contentgen.stores.idempotency import EVENT_SCOPE, http_scope


def proxy(
    api_event: Callable[..., dict[str, Any]], *, key: str | None, header: str | None, method: str = "POST"
) -> APIGatewayProxyEvent:
    event = api_event(method, "/videos", {"prompt": "p"})
    event["requestContext"]["identity"]["apiKeyId"] = key
    if header is not None:
        event["headers"]["Idempotency-Key"] = header
    return APIGatewayProxyEvent(event)


def test_over_http_the_header_is_keyed_within_the_callers_api_key(
    api_event: Callable[..., dict[str, Any]],
) -> None:
    assert start_key(proxy(api_event, key="k1", header="abc")) == (http_scope("k1"), "abc")
    assert start_key(proxy(api_event, key="k2", header="abc")) == (http_scope("k2"), "abc")
    assert http_scope("k1") != http_scope("k2")


def test_over_http_without_the_header_there_is_no_key(api_event: Callable[..., dict[str, Any]]) -> None:
    assert start_key(proxy(api_event, key="k1", header=None)) == (http_scope("k1"), None)
    assert start_key(proxy(api_event, key=None, header="abc")) == (http_scope(None), "abc")
    # Only a POST carries one (GET is idempotent already).
    assert start_key(proxy(api_event, key="k1", header="abc", method="GET")) == (http_scope("k1"), None)


def test_a_direct_invocation_is_keyed_by_its_request_id_in_the_event_scope(
    api_event: Callable[..., dict[str, Any]],
) -> None:
    event = proxy(api_event, key="k1", header="ignored")
    event.raw_event["requestContext"]["stage"] = "direct"
    event.raw_event["requestContext"]["requestId"] = "req-7"
    assert start_key(event) == (EVENT_SCOPE, "req-7")
    assert EVENT_SCOPE not in {http_scope("k1"), http_scope(None)}
    event.raw_event["requestContext"]["requestId"] = ""
    assert start_key(event) == (EVENT_SCOPE, None)


def test_base_path_is_what_the_url_holds_before_the_route(api_event: Callable[..., dict[str, Any]]) -> None:
    event = proxy(api_event, key="k1", header=None)
    assert base_path(event) == "/prod"  # behind the stage: requestContext.path is /prod/videos
    event.raw_event["requestContext"]["path"] = "/videos"
    assert base_path(event) == ""  # a custom domain's root, the local gateway
    del event.raw_event["requestContext"]["path"]
    assert base_path(event) == ""  # a direct invocation
    event.raw_event["requestContext"]["path"] = "/elsewhere"
    assert base_path(event) == ""


def test_started_answers_202_with_location_and_starts_with_who_pays_and_the_key(
    api_event: Callable[..., dict[str, Any]],
) -> None:
    calls: list[dict[str, Any]] = []

    def start(**where: Any) -> VideoJobAccepted:
        calls.append(where)
        return VideoJobAccepted(
            job_id="video-1", status="pending", status_url=f"{where['base_path']}/videos/video-1"
        )

    response = started(proxy(api_event, key="k1", header="abc"), start)

    assert calls == [
        {"owner": "k1", "payers": ("k1",), "scope": http_scope("k1"), "key": "abc", "base_path": "/prod"}
    ]
    assert response.status_code == 202
    assert response.headers["Location"] == "/prod/videos/video-1"
    assert isinstance(response.body, VideoJobAccepted)
    assert response.body.job_id == "video-1"
