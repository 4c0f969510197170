"""What a generation used and cost (`usage` on every generation answer), and `GET /usage`."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from contentgen.models.common import ResponseModel


class Usage(ResponseModel):
    """Usage of the invocation that produced an answer, all provider requests together (retries,
    fallbacks, re-asks, chunks and sets included). A field is null when no provider reported it."""

    model: str | None = Field(description="The model that answered (the last successful request).")
    prompt_tokens: int | None = Field(description="Input tokens over all requests (OpenRouter).")
    completion_tokens: int | None = Field(description="Output tokens over all requests (OpenRouter).")
    provider_requests: int = Field(description="Requests sent to providers, failed attempts included.")
    cost_usd: float | None = Field(
        description="USD: OpenRouter's `usage.cost`, or the price table for Google images and videos."
    )


def usage_field() -> Any:
    """The `usage` field of a generation answer (filled by `contentgen.entrypoints.spend` after the route ran)."""
    return Field(None, description="What this generation used and cost.")


class FunctionSpend(ResponseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: GET /usage's

    requests: int = Field(description="Invocations charged (each ran its provider requests).")
    cost_usd: float = Field(description="USD.")


class DaySpend(ResponseModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: GET /usage's

    day: str = Field(description="UTC date, YYYY-MM-DD.")
    requests: int
    provider_requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    functions: dict[str, FunctionSpend] = Field(description="Requests and cost per function.")


class UsageReport(ResponseModel):
    """`GET /usage`: the calling API key's spend today (UTC) and over the last 30 days."""

    model_config = ConfigDict(defer_build=True)  # built on first use: GET /usage's
    api_key_id: str = Field(description="The API key's id (API Gateway's, never the key itself).")
    day: str = Field(description="Today, UTC, YYYY-MM-DD.")
    daily_budget_usd: float = Field(description="The key's own budget, else the default.")
    settled_today_usd: float = Field(description="USD charged today for finished requests.")
    reserved_today_usd: float = Field(
        description="USD held today by requests in flight (each its most; released or settled when it ends)."
    )
    remaining_today_usd: float = Field(
        description="Budget left today after settled and reserved (0 when spent)."
    )
    today: DaySpend
    last_30_days: DaySpend = Field(description="Totals over the 30 days ending today; `day` is the first.")
    days: list[DaySpend] = Field(description="Each day with spend in those 30 days, oldest first.")
