"""API keys: SSM Parameter Store (SecureString, decrypted) in AWS, the environment locally.

In AWS the key is read through the AWS Parameters and Secrets Lambda Extension when the template
enables it (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` set): one stdlib HTTP GET to its loopback
endpoint, so no boto3 import and no SSM client (service model) on the cold path. Without it,
Powertools' SSMProvider reads the parameter. Source: "Using Parameter Store parameters in AWS
Lambda functions", https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html
(endpoint, `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`, callable only during INVOKE,
`SSM_PARAMETER_STORE_TTL=0` bypasses its cache, which the template sets so a re-read reaches SSM).

Keys are read on first use, never at import; a connector whose client is not built yet has its
key's read started a little ahead (`read_ahead`, from the call policy, before the spend ledger's
reservation), in a thread, so that the read's round trip overlaps the reservation's. The
connectors keep the built client, so a warm container makes no SSM call at all; a connector reset
(rotation, rejected key) reads again with `force_fetch` so a rotated value is seen at once.
Failures raise `SecretUnavailableError` naming the parameter and are never cached.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from contentgen.clients.aws import new_ssm_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, SecretUnavailableError
from contentgen.observability import logger, register_secret

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider


@dataclass(frozen=True)
class SecretSpec:
    """Where one API key lives: an SSM parameter (name from settings) or, locally, a variable."""

    label: str
    param_setting: str  # attribute of Settings holding the SSM parameter name
    env_var: str  # local fallback when no parameter name is configured


OPENROUTER_API_KEY = SecretSpec("OpenRouter API key", "openrouter_api_key_param", "OPENROUTER_API_KEY")
GOOGLE_API_KEY = SecretSpec("Google API key", "google_api_key_param", "GOOGLE_API_KEY")
WEBHOOK_SECRET = SecretSpec("webhook signing secret", "webhook_secret_param", "WEBHOOK_SECRET")

_provider_lock = threading.Lock()
_provider: SSMProvider | None = None


def _ssm_provider() -> SSMProvider:
    """Powertools' SSM provider with short timeouts, built only when first needed, on an SSM client
    of the layer's botocore session (`contentgen.clients.aws`: its loader lists only the layer's
    services; Powertools would otherwise build one from a boto3 session of its own)."""
    global _provider
    with _provider_lock:
        if _provider is None:
            # Cold start: this Powertools utility loads on the path that uses it, not at import.
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            _provider = SSMProvider(boto3_client=new_ssm_client(get_settings().ssm_timeout_seconds))
        return _provider


def reset_ssm_provider() -> None:
    """Forget the SSM provider and its cache, and any key read ahead (tests; a new endpoint; a
    SnapStart restore)."""
    global _provider
    with _provider_lock:
        _provider = None
    with _prefetch_lock:
        _prefetched.clear()


EXTENSION_PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
EXTENSION_HOST = "localhost"


class _ParameterReadError(Exception):
    """SSM (or the extension) answered with an error or not at all; `cause` names what, never a value."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def extension_port() -> int | None:
    """The Parameters and Secrets extension's port when the template enables it, else None."""
    raw = os.environ.get(EXTENSION_PORT_VARIABLE, "").strip()
    return int(raw) if raw.isdigit() else None


def read_through_extension(param_name: str, port: int, timeout: float) -> object:
    """`Parameter.Value` of GetParameter (decrypted) from the extension's local endpoint.

    GET http://localhost:{port}/systemsmanager/parameters/get?name={name}&withDecryption=true with
    the header `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`; the body is GetParameter's JSON
    response. Raises `_ParameterReadError` on a non-200 answer, a connection failure or a timeout.
    """
    path = f"/systemsmanager/parameters/get?name={quote(param_name, safe='')}&withDecryption=true"
    connection = http.client.HTTPConnection(EXTENSION_HOST, port, timeout=timeout)
    try:
        connection.request(
            "GET", path, headers={"X-Aws-Parameters-Secrets-Token": os.environ.get("AWS_SESSION_TOKEN", "")}
        )
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise _ParameterReadError(type(exc).__name__) from None
    finally:
        connection.close()
    if response.status != 200:
        raise _ParameterReadError(f"HTTP {response.status}")
    try:
        parameter = json.loads(body)["Parameter"]
        return parameter["Value"]
    except (ValueError, KeyError, TypeError):
        raise _ParameterReadError("malformed answer") from None


def _read_parameter(param_name: str) -> object:
    """The decrypted value, through the extension when enabled, else Powertools' SSMProvider.

    Raises `_ParameterReadError`; never caches a value. Powertools (and with it boto3) is imported
    only on the SSMProvider path."""
    port = extension_port()
    if port is not None:
        return read_through_extension(param_name, port, get_settings().ssm_timeout_seconds)

    # Cold start: this Powertools utility loads on the path that uses it, not at import.
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return _ssm_provider().get(param_name, decrypt=True, force_fetch=True)
    except GetParameterError as exc:
        raise _ParameterReadError(type(exc.__cause__ or exc).__name__) from None


# parameter name -> a read started ahead of use (`read_ahead`), until `read_api_key` takes it
_prefetch_lock = threading.Lock()
_prefetched: dict[str, Future[object]] = {}


def read_ahead(spec: SecretSpec) -> Callable[[], None] | None:
    """Start reading `spec` from SSM in a thread of its own, so that the read's round trip overlaps
    other work (the call policy starts it before the spend ledger's reservation, for a client not
    built yet); `read_api_key` takes the value, or the failure, when the key is needed, waiting for
    a read still in flight. Nothing is logged or registered here: a failed read is reported by the
    `read_api_key` that takes it, as if it had read itself.

    Returns the function that discards the value if nobody took it (call it when the work that
    could need the key is over, so a value read ahead never serves later work); None when nothing
    was started: the key comes from the environment, or a read of it is already in flight."""
    try:
        param_name: str | None = getattr(get_settings(), spec.param_setting)
    except ConfigurationError:
        return None  # the caller's own read names the variable
    if param_name is None:
        return None
    pending: Future[object] = Future()
    with _prefetch_lock:
        if param_name in _prefetched:
            return None
        _prefetched[param_name] = pending
    threading.Thread(
        target=_read_into, args=(param_name, pending), name=f"read ahead {spec.label}", daemon=True
    ).start()

    def discard() -> None:
        with _prefetch_lock:
            if _prefetched.get(param_name) is pending:
                del _prefetched[param_name]

    return discard


def _read_into(param_name: str, pending: Future[object]) -> None:
    try:
        pending.set_result(_read_parameter(param_name))
    except BaseException as exc:  # handed to the reader, raised there
        pending.set_exception(exc)


def _take_prefetched(param_name: str) -> Future[object] | None:
    with _prefetch_lock:
        return _prefetched.pop(param_name, None)


def read_api_key(spec: SecretSpec) -> str:
    """Return the key, from SSM when a parameter name is configured, else from the environment.

    A read started by `read_ahead` is taken (waited for when still in flight: it has the timeouts
    of a read made here) instead of reading again. Raises `SecretUnavailableError` naming the
    parameter."""
    param_name: str | None = getattr(get_settings(), spec.param_setting)
    if param_name is None:
        local_value = os.environ.get(spec.env_var, "").strip()
        if not local_value:
            raise SecretUnavailableError(
                f"{spec.label} is not configured: set {spec.env_var} locally or "
                f"{spec.env_var}_PARAM to an SSM parameter name"
            )
        register_secret(local_value)
        return local_value

    pending = _take_prefetched(param_name)
    try:
        value = pending.result() if pending is not None else _read_parameter(param_name)
    except _ParameterReadError as exc:
        # The cause may be AccessDenied, ParameterNotFound, a timeout: log its class only.
        logger.warning("could not read API key from SSM", extra={"parameter": param_name, "cause": exc.cause})
        raise SecretUnavailableError(
            f"{spec.label} unavailable: could not read SSM parameter {param_name}"
        ) from None
    if not isinstance(value, str) or not value.strip():
        raise SecretUnavailableError(f"{spec.label} unavailable: SSM parameter {param_name} is empty")
    register_secret(value.strip())
    return value.strip()
