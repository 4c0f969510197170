"""`Client`: one method per route of the contentgen API, returning typed models.

- Base URL and key from the arguments or `CONTENTGEN_API_URL` / `CONTENTGEN_API_KEY`.
- Every POST carries an `Idempotency-Key` generated for the call and reused on its own retries, so
  a retried request is never run (or paid for) twice.
- 429 answers, 503 answers that say to come back (a `Retry-After`, or a code in
  `RETRYABLE_503_CODES`), a 409 for a request still in progress, and connections that fail before
  an answer are retried (`max_retries`; 0 = never), waiting what `Retry-After` says, else an
  exponential backoff (`backoff` * 2**n seconds). A call never waits longer than `max_wait`
  seconds in all (default 30): a wait that does not fit in what is left (a daily budget's
  `Retry-After` pointing at midnight, say) is not waited at all; the error is raised at once and
  says when to come back (`retry_after`, `retry_at`). `on_wait` hears of each wait before it
  starts (`RetryWait`), so a caller can show it. A 503 no retry fixes
  (`provider_insufficient_credits`: the provider account needs credits; `model_not_available_to_key`:
  the Google key may not use the models; `configuration_error`) is
  raised at once.
- Errors are typed (`contentgen_client.errors`) and carry `code` and `request_id`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
from pydantic import BaseModel

from contentgen_client.errors import (
    ConnectionFailedError,
    ContentgenError,
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
    ShortAccepted,
    ShortStatus,
    StoredResult,
    StoryResponse,
    StorySetsResponse,
    ThumbnailResponse,
    UsageReport,
    VideoJobAccepted,
    VideoJobStatus,
)

T = TypeVar("T", bound=BaseModel)
J = TypeVar("J", VideoJobStatus, ShortStatus)  # a job's status, as `Client._wait` polls it
CharacterInput = Character | Mapping[str, Any] | None

DEFAULT_URL = "http://127.0.0.1:3000"
DEFAULT_MAX_WAIT = 30.0
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


def format_duration(seconds: float) -> str:
    """`seconds` for people: "0.5 s", "42 s", "3 min 5 s", "3 h 6 min"."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class RetryWait:
    """A wait before the client sends a request again (what `on_wait` is given).

    `attempt` is the attempt the wait leads to (2 = the first retry) of `attempts` at most;
    `seconds` how long the client will wait; `reason` what the answer was (e.g. "429
    throttled", "503 provider_rate_limited", "connection failed"); `retry_after` the server's
    `Retry-After` in seconds, when it sent one."""

    method: str
    path: str
    attempt: int
    attempts: int
    seconds: float
    reason: str
    retry_after: float | None

    def describe(self) -> str:
        """One line for people: what happened, how long the wait is, which attempt follows."""
        return (
            f"{self.method} {self.path}: {self.reason}; retrying in {format_duration(self.seconds)} "
            f"(attempt {self.attempt} of {self.attempts})"
        )


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (the local stack), by host name or IP literal."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(status_code: int | None, body: Any) -> str:
    if status_code is None:
        return "connection failed"
    code = body.get("code") if isinstance(body, dict) else None
    return f"{status_code} {code}" if code else f"HTTP {status_code}"


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
        max_wait: float = DEFAULT_MAX_WAIT,
        backoff: float = 0.5,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[RetryWait], None] | None = None,
    ) -> None:
        """`max_retries`: retries per call (0: none); `max_wait`: the most seconds one call waits
        between its attempts, in all; `sleep` and `clock` (epoch seconds) are injectable for
        tests; `on_wait` is told of each wait before it starts."""
        self.base_url = (base_url or os.environ.get("CONTENTGEN_API_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("CONTENTGEN_API_KEY")
        self.max_retries = max(0, max_retries)
        self.max_wait = max(0.0, max_wait)
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._on_wait = on_wait
        self._providers: dict[str, str] | None = None
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

    def _come_back(self, error: ContentgenError, retry_after: float, why: str) -> ContentgenError:
        """`error`, told when to come back: a wait the client will not make is not made."""
        now = self._clock()
        error.retry_after = retry_after
        error.retry_at = now + retry_after
        when = datetime.fromtimestamp(error.retry_at, UTC)
        day = "" if when.date() == datetime.fromtimestamp(now, UTC).date() else f" on {when:%Y-%m-%d}"
        error.message = (
            f"{error.message.rstrip('. ')}. Try again in {format_duration(retry_after)} "
            f"(at {when:%H:%M:%S} UTC{day}); not waiting: {why}"
        )
        return error

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
        attempt, waited = 0, 0.0
        while True:
            error: ContentgenError
            try:
                response = self._http.request(method, path, json=json, params=params, headers=headers)
            except httpx2.TransportError as exc:
                error = ConnectionFailedError(f"cannot reach {self.base_url}: {exc}")
                status_code, body, retry_after, retryable = None, None, None, True
                cause: Exception | None = exc
            else:
                status_code = response.status_code
                retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=self._clock())
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                if status_code < 400:
                    return body
                error = error_for(status_code, body, retry_after)
                retryable = is_retryable(status_code, body, retry_after)
                cause = None
            if not retryable:
                raise error from cause
            if attempt >= self.max_retries:
                if retry_after is not None:
                    why = "retries are off" if self.max_retries == 0 else f"{attempt} retries made"
                    error = self._come_back(error, retry_after, why)
                raise error from cause
            delay = retry_after if retry_after is not None else self.backoff * (2**attempt)
            if waited + delay > self.max_wait:
                if retry_after is not None:
                    patience = f"{self.max_wait:g} s" + (
                        f", {waited:g} s of it already waited" if waited else ""
                    )
                    error = self._come_back(error, retry_after, f"longer than max_wait ({patience})")
                raise error from cause
            attempt += 1
            if self._on_wait is not None:
                self._on_wait(
                    RetryWait(
                        method=method.upper(),
                        path=path,
                        attempt=attempt + 1,
                        attempts=self.max_retries + 1,
                        seconds=delay,
                        reason=_reason(status_code, body),
                        retry_after=retry_after,
                    )
                )
            self._sleep(delay)
            waited += delay

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
        return self._wait(
            lambda: self.video_status(job_id), f"video job {job_id}", timeout, poll_interval, on_status
        )

    def short(
        self,
        prompt: str,
        *,
        segment_count: int | None = None,
        aspect_ratio: str | None = None,
        language: str | None = None,
        voice: str | None = None,
        style: str | None = None,
        character: CharacterInput = None,
        clips: bool | None = None,
        callback_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> ShortAccepted:
        """POST /shorts: starts a short (202); see `get_short` and `wait_for_short`. `clips`: a
        generated video clip per segment where the video model and the budget allow."""
        body = _body(
            prompt=prompt,
            segment_count=segment_count,
            aspect_ratio=aspect_ratio,
            language=language,
            voice=voice,
            style=style,
            character=character,
            clips=clips,
            callback_url=callback_url,
        )
        return self._post("/shorts", ShortAccepted, body, idempotency_key)

    def get_short(self, short_id: str) -> ShortStatus:
        """GET /shorts/{short_id}: status, step, progress, usage, parts; `video_url` once done."""
        return ShortStatus.model_validate(self.request("GET", f"/shorts/{short_id}"))

    def wait_for_short(
        self,
        short_id: str,
        *,
        timeout: float = 1800.0,
        poll_interval: float = 2.0,
        on_status: Callable[[ShortStatus], None] | None = None,
    ) -> ShortStatus:
        """Poll the short until it succeeds (its status, with `video_url`).

        Raises `JobFailedError` when it fails, `WaitTimeoutError` after `timeout` seconds."""
        return self._wait(
            lambda: self.get_short(short_id), f"short {short_id}", timeout, poll_interval, on_status
        )

    def _wait(
        self,
        read: Callable[[], J],
        what: str,
        timeout: float,
        poll_interval: float,
        on_status: Callable[[J], None] | None,
    ) -> J:
        """`read()` every `poll_interval` seconds (each status to `on_status`) until it is
        `succeeded`, which it returns; `JobFailedError` when it is `failed`, `WaitTimeoutError`
        when the next poll would pass `timeout` seconds. `what` names it in those errors."""
        deadline = self._clock() + timeout
        while True:
            status = read()
            if on_status is not None:
                on_status(status)
            if status.status == "succeeded":
                return status
            if status.status == "failed":
                raise JobFailedError(f"{what} failed: {status.error or 'no reason given'}")
            if self._clock() + poll_interval > deadline:
                raise WaitTimeoutError(f"{what} still {status.status} after {timeout:.0f}s")
            self._sleep(poll_interval)

    def result(self, request_id: str) -> StoredResult:
        """GET /results/{request_id}: the outcome of an event-triggered generation."""
        return StoredResult.model_validate(self.request("GET", f"/results/{request_id}"))

    def usage(self) -> UsageReport:
        """GET /usage: the calling key's spend today and over 30 days, and its daily budget."""
        return UsageReport.model_validate(self.request("GET", "/usage"))

    def providers(self) -> dict[str, str]:
        """Who answers each provider's calls (`{"openrouter": "emulator" | "openrouter",
        "google_genai": "emulator" | "google"}`), from `/health`; asked once per client, and only
        of an API on this machine (the local stack): a remote API is taken to use the providers."""
        if self._providers is None:
            found: dict[str, str] = {}
            if is_loopback(self.base_url):
                try:
                    found = dict(self.health().providers or {})
                except (ContentgenError, ValueError):  # an older API, or not this API at all
                    found = {}
            self._providers = found
        return self._providers

    def emulated(self, kind: str) -> bool:
        """Whether `kind` ("text" or "media") is answered by the local provider emulator
        (placeholders, not a model's work)."""
        name = "openrouter" if kind == "text" else "google_genai"
        return self.providers().get(name) == "emulator"

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
