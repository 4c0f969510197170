"""Typed settings built from the environment once per container.

Variable names are the ones in the contract (plus tuning knobs with safe defaults). A missing or
malformed value raises `ConfigurationError` naming the variable, and the failure is not cached.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contentgen.catalog import default_chain
from contentgen.errors import ConfigurationError

DEFAULT_OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"

PositiveSeconds = Annotated[float, Field(gt=0, le=900)]


class Settings(BaseModel):
    """Every knob the layer reads from the environment. Field aliases are the variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    openrouter_base_url: str = Field(DEFAULT_OPENROUTER_BASE_URL, alias="OPENROUTER_BASE_URL")
    openrouter_api_key_param: str | None = Field(None, alias="OPENROUTER_API_KEY_PARAM")
    google_api_key_param: str | None = Field(None, alias="GOOGLE_API_KEY_PARAM")
    google_use_vertexai: bool = Field(False, alias="GOOGLE_GENAI_USE_VERTEXAI")
    google_cloud_project: str | None = Field(None, alias="GOOGLE_CLOUD_PROJECT")
    google_cloud_location: str | None = Field(None, alias="GOOGLE_CLOUD_LOCATION")
    google_gemini_base_url: str | None = Field(None, alias="GOOGLE_GEMINI_BASE_URL")
    google_vertex_base_url: str | None = Field(None, alias="GOOGLE_VERTEX_BASE_URL")

    # Unset: the model catalog's recommended model for the use (contentgen.catalog, models.json).
    text_model: str = Field(
        default_factory=lambda: default_chain("text")[0], alias="TEXT_MODEL", min_length=1
    )
    vision_model: str = Field(
        default_factory=lambda: default_chain("vision")[0], alias="VISION_MODEL", min_length=1
    )
    image_model: str = Field(
        default_factory=lambda: default_chain("image")[0], alias="IMAGE_MODEL", min_length=1
    )
    video_model: str = Field(
        default_factory=lambda: default_chain("video")[0], alias="VIDEO_MODEL", min_length=1
    )
    media_bucket: str | None = Field(None, alias="MEDIA_BUCKET")

    # OpenRouter attribution (https://openrouter.ai/docs/api-reference/overview#headers).
    openrouter_app_url: str = Field("https://github.com/contentgen/contentgen", alias="OPENROUTER_APP_URL")
    openrouter_app_title: str = Field("contentgen", alias="OPENROUTER_APP_TITLE")

    # Provider calls: one attempt never waits longer than this (well under API Gateway's 29 s).
    provider_timeout_seconds: PositiveSeconds = Field(20.0, alias="PROVIDER_TIMEOUT_SECONDS")
    provider_connect_timeout_seconds: PositiveSeconds = Field(3.0, alias="PROVIDER_CONNECT_TIMEOUT_SECONDS")
    provider_max_attempts: int = Field(3, ge=1, le=10, alias="PROVIDER_MAX_ATTEMPTS")
    retry_base_delay_seconds: float = Field(0.5, ge=0, le=30, alias="RETRY_BASE_DELAY_SECONDS")
    retry_max_delay_seconds: float = Field(4.0, ge=0, le=60, alias="RETRY_MAX_DELAY_SECONDS")
    # Time kept back from the Lambda's remaining time to answer after the last provider attempt.
    deadline_margin_seconds: float = Field(1.5, ge=0, le=60, alias="DEADLINE_MARGIN_SECONDS")
    # An attempt is not started with less time than this left: it could not finish.
    min_attempt_seconds: float = Field(1.0, gt=0, le=60, alias="MIN_ATTEMPT_SECONDS")
    # Used only when there is no Lambda context (direct calls from tests or scripts).
    default_deadline_seconds: PositiveSeconds = Field(28.0, alias="DEFAULT_DEADLINE_SECONDS")
    ssm_timeout_seconds: PositiveSeconds = Field(3.0, alias="SSM_TIMEOUT_SECONDS")
    # API Gateway stops waiting after this, whatever the function's own timeout: HTTP requests
    # are answered within it so that no paid result is produced for a caller who has gone.
    api_gateway_timeout_seconds: PositiveSeconds = Field(29.0, alias="API_GATEWAY_TIMEOUT_SECONDS")
    # Video jobs: the table and queue template.yaml declares, how long between checks of a Veo
    # operation, when a job gives up, and how long job records are kept.
    video_jobs_table: str | None = Field(None, alias="VIDEO_JOBS_TABLE")
    video_job_queue_url: str | None = Field(None, alias="VIDEO_JOB_QUEUE_URL")
    video_poll_delay_seconds: int = Field(15, ge=0, le=900, alias="VIDEO_POLL_DELAY_SECONDS")
    video_job_deadline_seconds: int = Field(1200, ge=0, le=86400, alias="VIDEO_JOB_DEADLINE_SECONDS")
    video_job_retention_days: int = Field(7, ge=1, le=365, alias="VIDEO_JOB_RETENTION_DAYS")
    # Event-triggered generation: results, idempotency records and notifications.
    results_table: str | None = Field(None, alias="RESULTS_TABLE")
    results_bucket: str | None = Field(None, alias="RESULTS_BUCKET")
    idempotency_table: str | None = Field(None, alias="IDEMPOTENCY_TABLE")
    event_bus_name: str | None = Field(None, alias="EVENT_BUS_NAME")
    idempotency_ttl_seconds: int = Field(86400, ge=60, le=30 * 86400, alias="IDEMPOTENCY_TTL_SECONDS")
    result_retention_days: int = Field(30, ge=1, le=365, alias="RESULT_RETENTION_DAYS")
    # The queue's redrive maxReceiveCount: on the last receive a failure is recorded as final.
    max_receive_count: int = Field(3, ge=1, le=1000, alias="MAX_RECEIVE_COUNT")
    # Presigned GET URLs for generated media expire after this.
    presigned_url_ttl_seconds: int = Field(900, ge=60, le=43200, alias="PRESIGNED_URL_TTL_SECONDS")
    # Provider requests one container may have in flight at once (sets, chunks, fan-out).
    max_parallel_requests: int = Field(5, ge=1, le=20, alias="MAX_PARALLEL_REQUESTS")
    # After a 429, requests to that provider start at least this far apart (or the wait the
    # provider asked for); the gap grows on each further 429 up to the maximum and eases on success.
    rate_limit_spacing_seconds: float = Field(0.1, ge=0, le=10, alias="RATE_LIMIT_SPACING_SECONDS")
    rate_limit_max_spacing_seconds: float = Field(1.0, ge=0, le=30, alias="RATE_LIMIT_MAX_SPACING_SECONDS")

    # Fallback models, tried in order after the family's model (comma-separated ids). A function
    # can set its own list by overriding the variable in its Environment in template.yaml.
    text_fallback_models: str = Field("", alias="TEXT_FALLBACK_MODELS")
    vision_fallback_models: str = Field("", alias="VISION_FALLBACK_MODELS")
    image_fallback_models: str = Field("", alias="IMAGE_FALLBACK_MODELS")
    video_fallback_models: str = Field("", alias="VIDEO_FALLBACK_MODELS")

    # Circuit breaker per provider and model: opens when at least BREAKER_FAILURE_RATE of the
    # calls in the last BREAKER_WINDOW_SECONDS failed (and there were BREAKER_MIN_CALLS), stays
    # open for BREAKER_COOLDOWN_SECONDS, then lets one probe through. With BREAKER_TABLE set, the
    # open/half-open state is shared by every container through that DynamoDB table.
    breaker_failure_rate: float = Field(0.5, gt=0, le=1, alias="BREAKER_FAILURE_RATE")
    breaker_min_calls: int = Field(10, ge=1, le=10000, alias="BREAKER_MIN_CALLS")
    breaker_window_seconds: float = Field(60.0, gt=0, le=3600, alias="BREAKER_WINDOW_SECONDS")
    breaker_cooldown_seconds: int = Field(30, ge=1, le=3600, alias="BREAKER_COOLDOWN_SECONDS")
    breaker_table: str | None = Field(None, alias="BREAKER_TABLE")
    # How long a container trusts its copy of the shared state before reading the table again.
    breaker_cache_seconds: int = Field(5, ge=1, le=300, alias="BREAKER_CACHE_SECONDS")

    # Connection pools: idle connections are closed well before a NAT gateway forgets them
    # (350 s), and TCP keepalive probes an idle connection that the pool still holds.
    http_keepalive_expiry_seconds: float = Field(60.0, gt=0, le=340, alias="HTTP_KEEPALIVE_EXPIRY_SECONDS")
    tcp_keepalive_idle_seconds: int = Field(60, ge=1, le=300, alias="TCP_KEEPALIVE_IDLE_SECONDS")

    # Provider-call log lines: prompts and outputs are cut to this many characters at INFO.
    log_text_chars: int = Field(200, ge=0, le=100000, alias="LOG_TEXT_CHARS")
    # GET /health?deep=true: each check's timeout, and the usage plan whose keys may ask for it.
    health_check_timeout_seconds: PositiveSeconds = Field(3.0, alias="HEALTH_CHECK_TIMEOUT_SECONDS")
    api_usage_plan_id: str | None = Field(None, alias="API_USAGE_PLAN_ID")
    # Spend control (contentgen.spend): the per-key, per-day ledger, the default daily budget
    # (USD, a key's own budget item overrides it), the key event-triggered requests are charged to
    # when the message names none, the share of a budget that raises BudgetThresholdReached
    # (0 = never), how long day items are kept, and the media price table override (JSON).
    spend_table: str | None = Field(None, alias="SPEND_TABLE")
    daily_budget_usd: float = Field(10.0, ge=0, le=1_000_000, alias="DAILY_BUDGET_USD")
    pipeline_api_key_id: str = Field("pipeline", min_length=1, max_length=128, alias="PIPELINE_API_KEY_ID")
    budget_alarm_threshold: float = Field(0.8, ge=0, le=1, alias="BUDGET_ALARM_THRESHOLD")
    spend_retention_days: int = Field(90, ge=31, le=3650, alias="SPEND_RETENTION_DAYS")
    media_prices_json: str | None = Field(None, alias="MEDIA_PRICES_JSON")

    @field_validator("openrouter_base_url", "google_gemini_base_url", "google_vertex_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator(
        "openrouter_api_key_param",
        "google_api_key_param",
        "google_cloud_project",
        "google_cloud_location",
        "media_bucket",
        "video_jobs_table",
        "video_job_queue_url",
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
        # request (not after a paid one). Imported late: contentgen.pricing reads these settings.
        if value is not None:
            from contentgen.pricing import parse_prices

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
        return self._chain(self.video_model, self.video_fallback_models)

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
