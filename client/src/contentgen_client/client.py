"""`Client`: one method per route of the contentgen API, returning typed models.

- Base URL and key from the arguments or `CONTENTGEN_API_URL` / `CONTENTGEN_API_KEY`.
- Every POST carries an `Idempotency-Key` generated for the call and reused on its own retries, so
  a retried request is never run (or paid for) twice.
- 429 answers, 503 answers that say to come back (a `Retry-After`, or a code in
  `RETRYABLE_503_CODES`), a 409 for a request still in progress, and connections that fail before
  an answer are retried (`max_retries`), waiting what `Retry-After` says (capped by `max_wait`),
  else an exponential backoff. A 503 no retry fixes (`provider_insufficient_credits`: the
  provider account needs credits; `configuration_error`) is raised at once.
- Errors are typed (`contentgen_client.errors`) and carry `code` and `request_id`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx2
from pydantic import BaseModel

from contentgen_client.errors import (
    ConnectionFailedError,
    JobFailedError,
    WaitTimeoutError,
    error_for,
)
from contentgen_client.models import (
    Character,
    CharacterResponse,
    ContentResponse,
    HealthReport,
    IdeasResponse,
    MemeResponse,
    StoredResult,
    StoryResponse,
    StorySetsResponse,
    ThumbnailResponse,
    VideoJobAccepted,
    VideoJobStatus,
)

T = TypeVar("T", bound=BaseModel)
CharacterInput = Character | Mapping[str, Any] | None

DEFAULT_URL = "http://127.0.0.1:3000"
RETRY_STATUSES = frozenset({429, 503})
# 503 codes worth retrying without a `Retry-After`; a 503 with another code of the API (e.g.
# `provider_insufficient_credits`) is final. A 503 without the API's error body (a gateway's) is
# retried.
RETRYABLE_503_CODES = frozenset({"provider_rate_limited", "provider_circuit_open", "secret_unavailable"})


def is_retryable(status_code: int, body: Any, retry_after: float | None) -> bool:
    """Whether an answer is worth sending again (see the module docstring)."""
    if status_code == 409:
        return retry_after is not None
    if status_code not in RETRY_STATUSES:
        return False
    if status_code == 503 and retry_after is None:
        code = body.get("code") if isinstance(body, dict) else None
        return code is None or code in RETRYABLE_503_CODES
    return True


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _body(**fields: Any) -> dict[str, Any]:
    """The request body: fields left as None are not sent (the server's defaults apply)."""
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_none=True, include=set(type(value).model_fields))
        body[name] = value
    return body


class Client:
    """A synchronous client; use as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = (base_url or os.environ.get("CONTENTGEN_API_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("CONTENTGEN_API_KEY")
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self._sleep = sleep
        headers = {"Accept": "application/json", "User-Agent": "contentgen-client/0.1"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        self._http = httpx2.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- transport ----------------------------------------------------------------------------------

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        delay = retry_after if retry_after is not None else self.backoff * (2**attempt)
        self._sleep(min(delay, self.max_wait))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send a request (retrying as the module describes); the decoded JSON of a 2xx answer.

        Raises a `ContentgenError` subclass for an error answer or an unreachable API."""
        headers: dict[str, str] = {}
        if method.upper() == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx2.TransportError as exc:
                if attempt < self.max_retries:
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                raise ConnectionFailedError(f"cannot reach {self.base_url}: {exc}") from exc
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            if is_retryable(response.status_code, body, retry_after) and attempt < self.max_retries:
                self._wait(attempt, retry_after)
                attempt += 1
                continue
            if response.status_code >= 400:
                raise error_for(response.status_code, body, retry_after)
            return body

    def _post(self, path: str, model: type[T], body: dict[str, Any], idempotency_key: str | None) -> T:
        return model.model_validate(self.request("POST", path, json=body, idempotency_key=idempotency_key))

    # -- routes -------------------------------------------------------------------------------------

    def story(
        self,
        prompt: str,
        *,
        segments: int | None = None,
        style: str | None = None,
        language: str | None = None,
        character: CharacterInput = None,
        idempotency_key: str | None = None,
    ) -> StoryResponse:
        """POST /stories/segments: a story in `segments` narrated segments (1-50, server default 6)."""
        body = _body(
            prompt=prompt, segment_count=segments, style=style, language=language, character=character
        )
        return self._post("/stories/segments", StoryResponse, body, idempotency_key)

    def long_story(
        self,
        prompt: str,
        *,
        segments: int,
        chunk_size: int | None = None,
        style: str | None = None,
        language: str | None = None,
        character: CharacterInput = None,
        idempotency_key: str | None = None,
    ) -> StoryResponse:
        """POST /stories/segments/chunked: up to 200 segments, written `chunk_size` at a time."""
        body = _body(
            prompt=prompt,
            segment_count=segments,
            chunk_size=chunk_size,
            style=style,
            language=language,
            character=character,
        )
        return self._post("/stories/segments/chunked", StoryResponse, body, idempotency_key)

    def story_sets(
        self,
        prompt: str,
        *,
        sets: int,
        segments_per_set: int,
        style: str | None = None,
        language: str | None = None,
        character: CharacterInput = None,
        idempotency_key: str | None = None,
    ) -> StorySetsResponse:
        """POST /stories/segments/sets: `sets` different takes on one prompt."""
        body = _body(
            prompt=prompt,
            set_count=sets,
            segments_per_set=segments_per_set,
            style=style,
            language=language,
            character=character,
        )
        return self._post("/stories/segments/sets", StorySetsResponse, body, idempotency_key)

    def meme(
        self,
        prompt: str,
        *,
        segments: int | None = None,
        language: str | None = None,
        character: CharacterInput = None,
        idempotency_key: str | None = None,
    ) -> MemeResponse:
        """POST /memes/segments: setup, escalation and punchline beats with captions."""
        body = _body(prompt=prompt, segment_count=segments, language=language, character=character)
        return self._post("/memes/segments", MemeResponse, body, idempotency_key)

    def content(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        language: str | None = None,
        idempotency_key: str | None = None,
    ) -> ContentResponse:
        """POST /content: free-form text."""
        body = _body(prompt=prompt, max_tokens=max_tokens, language=language)
        return self._post("/content", ContentResponse, body, idempotency_key)

    def ideas(
        self,
        niche: str,
        *,
        count: int | None = None,
        region: str | None = None,
        language: str | None = None,
        idempotency_key: str | None = None,
    ) -> IdeasResponse:
        """POST /ideas/trending: video ideas for a niche, this week."""
        body = _body(niche=niche, idea_count=count, region=region, language=language)
        return self._post("/ideas/trending", IdeasResponse, body, idempotency_key)

    def analyze_character(
        self,
        *,
        image_url: str | None = None,
        image_base64: str | None = None,
        mime_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> CharacterResponse:
        """POST /characters/analyze: exactly one of `image_url` (https) or `image_base64`."""
        body = _body(image_url=image_url, image_base64=image_base64, mime_type=mime_type)
        return self._post("/characters/analyze", CharacterResponse, body, idempotency_key)

    def thumbnail(
        self,
        prompt: str,
        *,
        aspect_ratio: str | None = None,
        character: CharacterInput = None,
        idempotency_key: str | None = None,
    ) -> ThumbnailResponse:
        """POST /thumbnails: an image (presigned `image_url`), `aspect_ratio` 16:9, 9:16 or 1:1."""
        body = _body(prompt=prompt, aspect_ratio=aspect_ratio, character=character)
        return self._post("/thumbnails", ThumbnailResponse, body, idempotency_key)

    def video(
        self,
        prompt: str,
        *,
        aspect_ratio: str | None = None,
        duration_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> VideoJobAccepted:
        """POST /videos: starts a job (202); see `video_status` and `wait_for_video`."""
        body = _body(prompt=prompt, aspect_ratio=aspect_ratio, duration_seconds=duration_seconds)
        return self._post("/videos", VideoJobAccepted, body, idempotency_key)

    def video_status(self, job_id: str) -> VideoJobStatus:
        """GET /videos/{job_id}."""
        return VideoJobStatus.model_validate(self.request("GET", f"/videos/{job_id}"))

    def wait_for_video(
        self,
        job_id: str,
        *,
        timeout: float = 1200.0,
        poll_interval: float = 2.0,
        on_status: Callable[[VideoJobStatus], None] | None = None,
    ) -> VideoJobStatus:
        """Poll the job until it succeeds (its status, with `video_url`).

        Raises `JobFailedError` when it fails, `WaitTimeoutError` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.video_status(job_id)
            if on_status is not None:
                on_status(status)
            if status.status == "succeeded":
                return status
            if status.status == "failed":
                raise JobFailedError(f"video job {job_id} failed: {status.error or 'no reason given'}")
            if time.monotonic() + poll_interval > deadline:
                raise WaitTimeoutError(f"video job {job_id} still {status.status} after {timeout:.0f}s")
            self._sleep(poll_interval)

    def result(self, request_id: str) -> StoredResult:
        """GET /results/{request_id}: the outcome of an event-triggered generation."""
        return StoredResult.model_validate(self.request("GET", f"/results/{request_id}"))

    def health(self, *, deep: bool = False) -> HealthReport:
        """GET /health (`deep=True` needs the key and checks each dependency)."""
        params = {"deep": "true"} if deep else None
        return HealthReport.model_validate(self.request("GET", "/health", params=params))

    def openapi(self) -> dict[str, Any]:
        """GET /openapi.json: the API's OpenAPI document."""
        document: dict[str, Any] = self.request("GET", "/openapi.json")
        return document

    def download(self, url: str) -> bytes:
        """The bytes behind a presigned media URL (`image_url`, `video_url`)."""
        try:
            response = httpx2.get(url, timeout=self._http.timeout, follow_redirects=True)
        except httpx2.TransportError as exc:
            raise ConnectionFailedError(f"cannot download {url.split('?')[0]}: {exc}") from exc
        if response.status_code >= 400:
            raise error_for(response.status_code, response.text[:200], None)
        return response.content
