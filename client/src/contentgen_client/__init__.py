"""Typed Python client for the contentgen API, and the `contentgen` command (`contentgen --help`)."""

from contentgen_client.client import Client, RetryWait, format_duration, retry_after_seconds
from contentgen_client.errors import (
    ApiError,
    AuthenticationError,
    ClientError,
    ConflictError,
    ConnectionFailedError,
    ContentFilteredError,
    ContentgenError,
    InvalidRequestError,
    JobFailedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    WaitTimeoutError,
)

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Client",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "ContentFilteredError",
    "ContentgenError",
    "InvalidRequestError",
    "JobFailedError",
    "NotFoundError",
    "RateLimitedError",
    "RetryWait",
    "ServerError",
    "WaitTimeoutError",
    "format_duration",
    "retry_after_seconds",
]
