"""The SDK and transport loggers pinned at WARNING, whatever level the root logger runs at.

With the root logger at DEBUG (Lambda's JSON log format with application log level DEBUG, or
anything calling `logging.basicConfig(level=DEBUG)`), botocore logs every response body (the
decrypted `GetParameter` value, `GetApiKey(includeValue=True)`'s key), the openai SDK its request
options (headers with the bearer key), httpx/httpcore/urllib3 their headers and google-genai its
request URLs. Child loggers (`botocore.endpoint`, `openai._base_client`, ...) have no level of their
own and inherit the pinned one, so none of their DEBUG or INFO lines is ever created.

`pin_sdk_loggers()` runs when `contentgen.observability` is imported (every function imports it
before it builds any client), so the pins hold before the first SDK call. Python logging
semantics: https://docs.python.org/3/library/logging.html#logging.Logger.setLevel (a logger with
an explicit level ignores its ancestors' levels).
"""

from __future__ import annotations

import logging

# Every library in the layer that logs request or response content below WARNING.
PINNED_LOGGERS: tuple[str, ...] = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "httpx",
    "httpcore",
    "httpx2",  # the openai and google-genai SDKs' transport in this layer
    "httpcore2",
    "h11",
    "hpack",
    "openai",
    "google_genai",
    "google.auth",
    "google.genai",
    "websockets",
    "aws_xray_sdk",
    "aws_lambda_powertools",
)
PINNED_LEVEL = logging.WARNING


def pin_sdk_loggers() -> None:
    """Set every logger in `PINNED_LOGGERS` to WARNING (idempotent, no I/O).

    A library that later lowers one of these levels itself (e.g. `boto3.set_stream_logger`) is a
    deliberate choice of the caller and is not undone.
    """
    for name in PINNED_LOGGERS:
        logging.getLogger(name).setLevel(PINNED_LEVEL)
