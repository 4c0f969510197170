"""Typed settings built from the environment once per container.

Variable names are the ones in the contract (plus tuning knobs with safe defaults). A missing or
malformed value raises `ConfigurationError` naming the variable, and the failure is not cached.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from contentgen.catalog import bare_model_id, default_chain, find_model
from contentgen.errors import ConfigurationError

DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"

# No Google image or second of video costs anywhere near this; a bound keeps every cost finite.
MAX_PRICE_USD = Decimal(1000)


@dataclass(frozen=True)
class MediaPrice:
    """USD per generated image and/or per second of generated video."""

    per_image: Decimal | None = None
    per_second: Decimal | None = None


def _price(model: str, entry: object) -> MediaPrice:
    if not isinstance(entry, dict) or not set(entry) <= {"per_image", "per_second"}:
        raise ValueError(f"{model}: expected an object with per_image and/or per_second")
    values: dict[str, Decimal] = {}
    for unit, value in entry.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{model}.{unit}: expected a number")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{model}.{unit}: expected a number") from None
        if not amount.is_finite() or not 0 <= amount <= MAX_PRICE_USD:
            raise ValueError(f"{model}.{unit}: expected a number from 0 to {MAX_PRICE_USD} (USD)")
        values[unit] = amount
    return MediaPrice(**values)


def parse_prices(override: str) -> dict[str, MediaPrice]:
    """The entries of a `MEDIA_PRICES_JSON` value; `ValueError` naming the entry when malformed
    (checked by `Settings` when the settings load; the table itself is `contentgen.billing.prices`)."""
    try:
        entries = json.loads(override)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(entries, dict):
        raise ValueError("expected a JSON object of model ids")
    return {str(model): _price(str(model), entry) for model, entry in entries.items()}


PositiveSeconds = Annotated[float, Field(gt=0, le=900)]

# What a setting may hold where it goes: an HTTP header value, a model id in a URL path.
HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,510}[\x21-\x7e])?")
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}")
# A Google Cloud project id and a Vertex AI location (`Settings.google_cloud_project` / `_location`).
_PROJECT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_LOCATION = re.compile(r"[a-z][a-z0-9-]{1,40}")


def check_http_url(value: str) -> None:
    """ValueError unless `value` is an http(s) URL with a host that an HTTP client can send to:
    ASCII without whitespace or control characters, a port of 1-65535, no user info."""
    if not value.isascii() or any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError("must be an http(s) URL without spaces, control or non-ASCII characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"must be an http(s) URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host")
    if port == 0 or "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError("must be an http(s) URL with a port of 1-65535, no user info, query or fragment")


class Settings(BaseModel):
    """Every knob the layer reads from the environment. Field aliases are the variable names."""

    # Field docstrings are documentation (`make docs` reads them from this file's source):
    # `use_attribute_docstrings` would parse this module's source at every import, about 13 ms of
    # CPU of the cold start (docs/benchmark.md, fourth round).
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    openrouter_base_url: str = Field(DEFAULT_OPENROUTER_BASE_URL, alias="OPENROUTER_BASE_URL")
    """OpenAI-compatible base URL of OpenRouter (an http(s) URL; the emulator's locally)."""
    openrouter_api_key_param: str | None = Field(None, alias="OPENROUTER_API_KEY_PARAM")
    """SSM SecureString parameter holding the OpenRouter key (text functions). Unset outside AWS:
    `OPENROUTER_API_KEY` is read from the environment instead."""
    google_api_key_param: str | None = Field(None, alias="GOOGLE_API_KEY_PARAM")
    """SSM SecureString parameter holding the Google key (media functions). Unset outside AWS:
    `GOOGLE_API_KEY` is read from the environment instead."""
    google_use_vertexai: bool = Field(False, alias="GOOGLE_GENAI_USE_VERTEXAI")
    """google-genai's own switch: Vertex AI (Veo video; with `GOOGLE_CLOUD_PROJECT` and
    `GOOGLE_CLOUD_LOCATION`) instead of the Gemini Developer API."""
    google_cloud_project: str | None = Field(None, alias="GOOGLE_CLOUD_PROJECT")
    """Vertex AI only: the Google Cloud project whose project-scoped endpoint is called, with the
    key (a Google Cloud API key of that project) and `GOOGLE_CLOUD_LOCATION`. Needed for Veo:
    unset, Vertex AI is express mode (an API key alone), which serves `generateContent` but no
    Veo, and a video job on Vertex AI is refused with 503 before any request."""
    google_cloud_location: str | None = Field(None, alias="GOOGLE_CLOUD_LOCATION")
    """Vertex AI only: the region of the project-scoped endpoint
    (`https://{location}-aiplatform.googleapis.com`), e.g. `us-central1`; used with
    `GOOGLE_CLOUD_PROJECT`."""
    google_gemini_base_url: str | None = Field(None, alias="GOOGLE_GEMINI_BASE_URL")
    """google-genai's base-URL override for the Developer API: local emulators only, empty in AWS."""
    google_vertex_base_url: str | None = Field(None, alias="GOOGLE_VERTEX_BASE_URL")
    """google-genai's base-URL override for Vertex AI: local emulators only, empty in AWS."""

    text_model: str = Field(
        default_factory=lambda: default_chain("text")[0], alias="TEXT_MODEL", min_length=1
    )
    """Model (OpenRouter id) for stories, memes, content and ideas; unset, the model catalog's
    recommended text model (`contentgen/catalog/models.json`)."""
    vision_model: str = Field(
        default_factory=lambda: default_chain("vision")[0], alias="VISION_MODEL", min_length=1
    )
    """Model (OpenRouter id) for character analysis; must take image input (catalog default)."""
    image_model: str = Field(
        default_factory=lambda: default_chain("image")[0], alias="IMAGE_MODEL", min_length=1
    )
    """Google model for thumbnails (catalog default: a Gemini image model through `generate_content`
    with the image config)."""
    video_model: str = Field(
        default_factory=lambda: default_chain("video")[0], alias="VIDEO_MODEL", min_length=1
    )
    """Google video model for video jobs (catalog default). A model the configured backend does not
    serve is skipped (`video_models`): with GOOGLE_GENAI_USE_VERTEXAI=false and no Gemini API video
    model configured, the catalog's Gemini API chain is used."""
    media_bucket: str | None = Field(None, alias="MEDIA_BUCKET")
    """S3 bucket for generated images and videos (set by the template)."""

    openrouter_app_url: str = Field("https://github.com/contentgen/contentgen", alias="OPENROUTER_APP_URL")
    """OpenRouter attribution header `HTTP-Referer`
    (https://openrouter.ai/docs/api-reference/overview#headers)."""
    openrouter_app_title: str = Field("contentgen", alias="OPENROUTER_APP_TITLE")
    """OpenRouter attribution header `X-Title`."""

    provider_timeout_seconds: PositiveSeconds = Field(20.0, alias="PROVIDER_TIMEOUT_SECONDS")
    """Ceiling for one provider attempt (well under API Gateway's 29 s)."""
    provider_connect_timeout_seconds: PositiveSeconds = Field(3.0, alias="PROVIDER_CONNECT_TIMEOUT_SECONDS")
    """TCP/TLS connect timeout of a provider request."""
    provider_max_attempts: int = Field(3, ge=1, le=10, alias="PROVIDER_MAX_ATTEMPTS")
    """Attempts per model for one provider call (retries of 429, 5xx, timeouts, dropped connections)."""
    retry_base_delay_seconds: float = Field(0.5, ge=0, le=30, alias="RETRY_BASE_DELAY_SECONDS")
    """Base of the full-jitter exponential backoff used when the provider names no wait."""
    retry_max_delay_seconds: float = Field(4.0, ge=0, le=60, alias="RETRY_MAX_DELAY_SECONDS")
    """Cap of that backoff."""
    deadline_margin_seconds: float = Field(1.5, ge=0, le=60, alias="DEADLINE_MARGIN_SECONDS")
    """Time kept back from the Lambda's remaining time to answer after the last provider attempt."""
    min_attempt_seconds: float = Field(1.0, gt=0, le=60, alias="MIN_ATTEMPT_SECONDS")
    """An attempt (or a fallback model) is not started with less time than this left: it could not finish."""
    default_deadline_seconds: PositiveSeconds = Field(28.0, alias="DEFAULT_DEADLINE_SECONDS")
    """The deadline when there is no Lambda context (direct calls from tests or scripts)."""
    ssm_timeout_seconds: PositiveSeconds = Field(3.0, alias="SSM_TIMEOUT_SECONDS")
    """Connect/read timeout of an SSM key read."""
    api_gateway_timeout_seconds: PositiveSeconds = Field(29.0, alias="API_GATEWAY_TIMEOUT_SECONDS")
    """API Gateway stops waiting after this, whatever the function's own timeout: HTTP requests are
    answered within it so that no paid result is produced for a caller who has gone."""
    jobs_table: str | None = Field(None, alias="JOBS_TABLE")
    """DynamoDB table of durable jobs (videos, shorts), keyed by job id = execution name (set by the
    template)."""
    video_job_function: str | None = Field(None, alias="VIDEO_JOB_FUNCTION")
    """The durable video job function to start, QUALIFIED (`name:live`, an alias or version, as
    durable invocations require; set by the template)."""
    short_job_function: str | None = Field(None, alias="SHORT_JOB_FUNCTION")
    """The durable short pipeline function to start, QUALIFIED (`name:live`; set by the template)."""
    webhook_secret_param: str | None = Field(None, alias="WEBHOOK_SECRET_PARAM")
    """SSM SecureString holding the Standard Webhooks signing secret (`whsec_` + base64 of at least
    24 random bytes) for shorts' `callback_url`; locally `WEBHOOK_SECRET` is read instead."""
    short_parallel_segments: int = Field(3, ge=1, le=10, alias="SHORT_PARALLEL_SEGMENTS")
    """Segments of a short whose image and narration are made at the same time (bounded fan-out)."""
    video_poll_delay_seconds: int = Field(15, ge=1, le=900, alias="VIDEO_POLL_DELAY_SECONDS")
    """First delay between two checks of a Veo operation (1 on the local stack); later checks back
    off by 1.5x up to `VIDEO_POLL_MAX_DELAY_SECONDS`."""
    video_poll_max_delay_seconds: int = Field(120, ge=1, le=3600, alias="VIDEO_POLL_MAX_DELAY_SECONDS")
    """Longest delay between two checks of a Veo operation (each check is an invocation)."""
    video_job_deadline_seconds: int = Field(1200, ge=0, le=86400, alias="VIDEO_JOB_DEADLINE_SECONDS")
    """A job not done this long after its start fails with `deadline_exceeded`."""
    job_retention_days: int = Field(14, ge=1, le=90, alias="JOB_RETENTION_DAYS")
    """Job records expire (DynamoDB TTL) after this; matches the durable functions'
    `RetentionPeriodInDays` (1-90), so a job id is not reused while its execution name is kept."""
    job_execution_timeout_seconds: int = Field(
        7200, ge=1, le=31_622_400, alias="JOB_EXECUTION_TIMEOUT_SECONDS"
    )
    """The durable function's `DurableConfig.ExecutionTimeout` (seconds; set by the template):
    a job record lives at least this plus `JOB_RETENTION_DAYS` after its execution started,
    because Lambda keeps the execution's NAME (= the job id) `RetentionPeriodInDays` after it
    CLOSED; a record that expired sooner would let its key start a job that never runs."""
    results_table: str | None = Field(None, alias="RESULTS_TABLE")
    """DynamoDB table of event-triggered results and `request_id` claims (set by the template)."""
    results_bucket: str | None = Field(None, alias="RESULTS_BUCKET")
    """S3 bucket for results over 350 KB (set by the template)."""
    idempotency_table: str | None = Field(None, alias="IDEMPOTENCY_TABLE")
    """DynamoDB table of idempotency records and paid parts (set by the template)."""
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME")
    """EventBridge bus for completion and budget events (set by the template)."""
    idempotency_ttl_seconds: int = Field(86400, ge=60, le=30 * 86400, alias="IDEMPOTENCY_TTL_SECONDS")
    """How long an `Idempotency-Key` or `request_id` (and the paid parts kept under it) is remembered."""
    result_retention_days: int = Field(30, ge=1, le=365, alias="RESULT_RETENTION_DAYS")
    """Stored results expire (DynamoDB TTL) after this."""
    max_receive_count: int = Field(3, ge=1, le=1000, alias="MAX_RECEIVE_COUNT")
    """The request queues' redrive `maxReceiveCount`: on that receive a failure is stored as final."""
    presigned_url_ttl_seconds: int = Field(900, ge=60, le=43200, alias="PRESIGNED_URL_TTL_SECONDS")
    """Lifetime of the presigned GET URLs of generated media."""
    max_parallel_requests: int = Field(5, ge=1, le=20, alias="MAX_PARALLEL_REQUESTS")
    """Provider requests one container may have in flight at once (sets, chunks), and its
    connection pool size."""
    rate_limit_spacing_seconds: float = Field(0.1, ge=0, le=10, alias="RATE_LIMIT_SPACING_SECONDS")
    """After a 429, requests to that provider start at least this far apart (or the wait the
    provider asked for); the gap grows by half on each further 429 and eases on success."""
    rate_limit_max_spacing_seconds: float = Field(1.0, ge=0, le=30, alias="RATE_LIMIT_MAX_SPACING_SECONDS")
    """Upper bound of that spacing."""

    text_fallback_models: str = Field("", alias="TEXT_FALLBACK_MODELS")
    """Comma-separated models tried in order after `TEXT_MODEL`. A function can set its own list
    in its `Environment` in template.yaml."""
    vision_fallback_models: str = Field("", alias="VISION_FALLBACK_MODELS")
    """Comma-separated models tried in order after `VISION_MODEL`."""
    image_fallback_models: str = Field("", alias="IMAGE_FALLBACK_MODELS")
    """Comma-separated models tried in order after `IMAGE_MODEL`."""
    video_fallback_models: str = Field("", alias="VIDEO_FALLBACK_MODELS")
    """Comma-separated models tried in order after `VIDEO_MODEL`."""

    model_unavailable_ttl_seconds: int = Field(3600, ge=1, le=86400, alias="MODEL_UNAVAILABLE_TTL_SECONDS")
    """A model the provider answered "gone" for (Google's 404 NOT_FOUND for a model, OpenRouter's "No
    endpoints found for X." / "X is not a valid model ID") is not asked again by this container for
    this long: the next model of its chain answers instead."""

    breaker_failure_rate: float = Field(0.5, gt=0, le=1, alias="BREAKER_FAILURE_RATE")
    """A breaker (per provider and model) opens when at least this share of the calls in the
    window failed."""
    breaker_min_calls: int = Field(10, ge=1, le=10000, alias="BREAKER_MIN_CALLS")
    """Calls the window must hold before the breaker may open."""
    breaker_window_seconds: float = Field(60.0, gt=0, le=3600, alias="BREAKER_WINDOW_SECONDS")
    """The breaker's failure window."""
    breaker_cooldown_seconds: int = Field(30, ge=1, le=3600, alias="BREAKER_COOLDOWN_SECONDS")
    """How long an open breaker stays open before one probe is let through."""
    breaker_table: str | None = Field(None, alias="BREAKER_TABLE")
    """DynamoDB table sharing the open/half-open state across containers (set when the template
    parameter `ShareCircuitBreakerState` is `true`); unset, state is per container."""
    breaker_cache_seconds: int = Field(5, ge=1, le=300, alias="BREAKER_CACHE_SECONDS")
    """How long a container trusts its copy of the shared breaker state before reading the table again."""

    http_keepalive_expiry_seconds: float = Field(60.0, gt=0, le=340, alias="HTTP_KEEPALIVE_EXPIRY_SECONDS")
    """Idle pooled connections are closed after this (well before a NAT gateway forgets them at 350 s)."""
    tcp_keepalive_idle_seconds: int = Field(60, ge=1, le=300, alias="TCP_KEEPALIVE_IDLE_SECONDS")
    """TCP keepalive probes start after this much idle time on a pooled connection."""

    log_text_chars: int = Field(200, ge=0, le=100000, alias="LOG_TEXT_CHARS")
    """Prompt and output characters kept in a provider-call log line at INFO (whole at DEBUG)."""
    health_check_timeout_seconds: PositiveSeconds = Field(3.0, alias="HEALTH_CHECK_TIMEOUT_SECONDS")
    """`GET /health?deep=true`: the timeout of each check (SSM, OpenRouter, Google)."""
    api_usage_plan_id: str | None = Field(None, alias="API_USAGE_PLAN_ID")
    """The usage plan whose keys may ask for the deep health check (set by the template)."""
    spend_table: str | None = Field(None, alias="SPEND_TABLE")
    """DynamoDB table of spend per API key and day, and per-key budgets (set by the template);
    unset, no budget applies and `GET /usage` still answers."""
    daily_budget_usd: float = Field(10.0, ge=0, le=1_000_000, alias="DAILY_BUDGET_USD")
    """Default daily budget per API key, in USD (a key's own budget item overrides it)."""
    pipeline_api_key_id: str = Field("pipeline", min_length=1, max_length=128, alias="PIPELINE_API_KEY_ID")
    """The key event-triggered and direct invocations are charged to (as well as a message's own
    `api_key_id`)."""
    budget_alarm_threshold: float = Field(0.8, ge=0, le=1, alias="BUDGET_ALARM_THRESHOLD")
    """Share of a key's budget whose crossing puts `BudgetThresholdReached` on the bus (0 = never)."""
    spend_retention_days: int = Field(90, ge=31, le=3650, alias="SPEND_RETENTION_DAYS")
    """Spend day items expire (DynamoDB TTL) after this."""
    media_prices_json: str | None = Field(None, alias="MEDIA_PRICES_JSON")
    """JSON overrides of the image/video price table, e.g.
    `{"<model id>": {"per_image": 0.05}}` or `{"<model id>": {"per_second": 0.2}}` (USD, 0 to 1,000, checked with the settings)."""

    @field_validator(
        "openrouter_base_url", "google_gemini_base_url", "google_vertex_base_url", "openrouter_app_url"
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_http_url(value)
        return value.rstrip("/") if value else value

    @field_validator("google_cloud_project", "google_cloud_location")
    @classmethod
    def _google_cloud_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Both go into Vertex AI's URL (`{location}-aiplatform.googleapis.com/.../projects/{project}/
        # locations/{location}/...`). A project id is 6-30 lowercase letters, digits and hyphens,
        # starting with a letter, not ending with a hyphen
        # (https://cloud.google.com/resource-manager/docs/creating-managing-projects); a location
        # is a region name such as us-central1.
        project = info.field_name == "google_cloud_project"
        if value is not None and not (_PROJECT_ID if project else _LOCATION).fullmatch(value):
            raise ValueError(
                f"{value[:40]!r} is not a Google Cloud {'project id' if project else 'location'}"
            )
        return value

    @field_validator("openrouter_app_url", "openrouter_app_title")
    @classmethod
    def _header_value(cls, value: str) -> str:
        # Sent as HTTP header values (`HTTP-Referer`, `X-Title`): visible ASCII and inner spaces
        # only (RFC 9110 §5.5 field-value; httpx encodes header values as ASCII).
        if not HEADER_VALUE.fullmatch(value):
            raise ValueError("must be 1-512 visible ASCII characters (sent as an HTTP header)")
        return value

    @field_validator(
        "text_model",
        "vision_model",
        "image_model",
        "video_model",
        "text_fallback_models",
        "vision_fallback_models",
        "image_fallback_models",
        "video_fallback_models",
    )
    @classmethod
    def _model_ids(cls, value: str) -> str:
        # Model ids go into request bodies (OpenRouter) and URL paths (Google `models/{id}:...`).
        # Google's resource names (`models/X`, `publishers/google/models/X`) are normalised here, once,
        # to the catalog's id (`bare_model_id`): the id Google's 404s name, the key of the
        # container's "model gone" memory, of breakers and of prices.
        models = [part.strip() for part in value.split(",")]
        for model in models:
            if model and not MODEL_ID.fullmatch(model):
                raise ValueError(f"{model[:80]!r} is not a model id (letters, digits and ._:/@+- only)")
        return ",".join(bare_model_id(model) for model in models if model)

    @field_validator(
        "openrouter_api_key_param",
        "google_api_key_param",
        "google_cloud_project",
        "google_cloud_location",
        "media_bucket",
        "jobs_table",
        "video_job_function",
        "short_job_function",
        "webhook_secret_param",
        "results_table",
        "results_bucket",
        "idempotency_table",
        "event_bus_name",
        "breaker_table",
        "api_usage_plan_id",
        "google_gemini_base_url",
        "google_vertex_base_url",
        "spend_table",
        "media_prices_json",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("media_prices_json")
    @classmethod
    def _media_prices(cls, value: str | None) -> str | None:
        # Checked here, with every other setting, so a malformed table fails before any provider
        # request (not after a paid one).
        if value is not None:
            parse_prices(value)
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        aliases = {field.alias for field in cls.model_fields.values() if field.alias}
        try:
            return cls.model_validate({key: environ[key] for key in aliases if key in environ})
        except ValidationError as exc:
            first = exc.errors()[0]
            variable = str(first["loc"][0]) if first["loc"] else "environment"
            raise ConfigurationError(
                f"service misconfigured: environment variable {variable}: {first['msg']}"
            ) from None

    @staticmethod
    def _chain(primary: str, fallbacks: str) -> tuple[str, ...]:
        ordered = [primary, *(model.strip() for model in fallbacks.split(","))]
        return tuple(dict.fromkeys(model for model in ordered if model))

    @property
    def text_models(self) -> tuple[str, ...]:
        """TEXT_MODEL, then TEXT_FALLBACK_MODELS in order, without repeats."""
        return self._chain(self.text_model, self.text_fallback_models)

    @property
    def vision_models(self) -> tuple[str, ...]:
        return self._chain(self.vision_model, self.vision_fallback_models)

    @property
    def image_models(self) -> tuple[str, ...]:
        return self._chain(self.image_model, self.image_fallback_models)

    @property
    def video_models(self) -> tuple[str, ...]:
        """VIDEO_MODEL, then VIDEO_FALLBACK_MODELS, keeping the models the configured Google backend
        serves (the catalog's `backends`; a model it does not describe is kept). When none is left
        (the template's Veo default with GOOGLE_GENAI_USE_VERTEXAI=false, one Gemini API key), the
        catalog's chain for that backend: `video` on Vertex AI, `video_gemini_api` on the Gemini
        Developer API."""
        backend = "vertex_ai" if self.google_use_vertexai else "gemini_api"
        chain = self._chain(self.video_model, self.video_fallback_models)
        served = tuple(m for m in chain if (entry := find_model(m)) is None or backend in entry.backends)
        return served or default_chain("video" if self.google_use_vertexai else "video_gemini_api")

    def configured(self) -> dict[str, bool]:
        """Which optional parts are configured (for /health; no values)."""
        return {
            "openrouter_api_key": bool(self.openrouter_api_key_param or os.environ.get("OPENROUTER_API_KEY")),
            "google_api_key": bool(self.google_api_key_param or os.environ.get("GOOGLE_API_KEY")),
            "google_vertexai": self.google_use_vertexai,
            "media_bucket": self.media_bucket is not None,
        }


@cache
def get_settings() -> Settings:
    """The container's settings, validated on first use (a failure is not cached)."""
    return Settings.from_environ(os.environ)
