"""Whether a request that failed in transport may have reached the provider.

Both SDKs send through httpx (`httpx2`, the fork they import: google-genai's `_api_client` and
openai's `_base_client`); openai wraps httpx's exception in `APIConnectionError` /
`APITimeoutError` (`raise ... from err`), google-genai lets it through. What httpx raises says
how far the request got (httpx "Exceptions", https://www.python-httpx.org/exceptions/):

- `ConnectError` (refused, reset during the handshake, DNS resolution failed, TLS handshake),
  `ConnectTimeout`, `PoolTimeout` (no connection from the pool), `UnsupportedProtocol` and
  `ProxyError` (the proxy refused the tunnel): no byte of the request reached the provider, so it
  is safe to send again, even work that is not idempotent (`FailureKind.CONNECTION`).
- `ReadTimeout` / `WriteTimeout`: `FailureKind.TIMEOUT`.
- `ReadError`, `WriteError` (the connection failed while the body was written), `CloseError`,
  `RemoteProtocolError` ("Server disconnected without sending a response", a reply cut short) and
  `LocalProtocolError`: the connection failed after (part of) the request was sent, so the
  provider may have received and done the work (`FailureKind.DROPPED`: retried when idempotent,
  final for a paid start, `contentgen.core.retry._MAYBE_STARTED_KINDS`).
"""

from __future__ import annotations

import httpx2

from contentgen.core.retry import FailureKind, ProviderFailure

# Raised before any byte of the request was written.
_NOT_SENT: tuple[type[httpx2.TransportError], ...] = (
    httpx2.ConnectError,
    httpx2.ConnectTimeout,
    httpx2.PoolTimeout,
    httpx2.UnsupportedProtocol,
    httpx2.ProxyError,
)
_MESSAGE_CHARS = 200


def transport_failure(exc: BaseException) -> ProviderFailure | None:
    """The failure kind of an httpx transport exception (see the module docstring); None for
    anything else. The message names the exception (`RemoteProtocolError: Server disconnected
    without sending a response.`)."""
    if not isinstance(exc, httpx2.TransportError):
        return None
    message = f"{type(exc).__name__}: {exc}"[:_MESSAGE_CHARS]
    if isinstance(exc, _NOT_SENT):
        return ProviderFailure(FailureKind.CONNECTION, message=message)
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderFailure(FailureKind.TIMEOUT, message=message)
    return ProviderFailure(FailureKind.DROPPED, message=message)
