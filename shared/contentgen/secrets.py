"""API keys: SSM Parameter Store (SecureString, decrypted) in AWS, the environment locally.

Keys are read on first use, never at import. The connectors keep the built client, so a warm
container makes no SSM call at all; a connector reset (rotation, rejected key) reads again with
`force_fetch` so a rotated value is seen at once. Failures raise `SecretUnavailableError` naming the
parameter and are never cached.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from contentgen.config import get_settings
from contentgen.errors import SecretUnavailableError
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

_provider_lock = threading.Lock()
_provider: SSMProvider | None = None


def _ssm_provider() -> SSMProvider:
    """Powertools' SSM provider with short timeouts, built (with boto3) only when first needed."""
    global _provider
    with _provider_lock:
        if _provider is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider
            from botocore.config import Config

            timeout = get_settings().ssm_timeout_seconds
            _provider = SSMProvider(
                boto_config=Config(
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    retries={"mode": "standard", "max_attempts": 2},
                )
            )
        return _provider


def reset_ssm_provider() -> None:
    """Forget the SSM provider and its cache (tests; a new endpoint)."""
    global _provider
    with _provider_lock:
        _provider = None


def read_api_key(spec: SecretSpec) -> str:
    """Return the key, from SSM when a parameter name is configured, else from the environment."""
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

    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        value: object = _ssm_provider().get(param_name, decrypt=True, force_fetch=True)
    except GetParameterError as exc:
        # The cause may be AccessDenied, ParameterNotFound, a timeout: log its class only.
        logger.warning(
            "could not read API key from SSM",
            extra={"parameter": param_name, "cause": type(exc.__cause__ or exc).__name__},
        )
        raise SecretUnavailableError(
            f"{spec.label} unavailable: could not read SSM parameter {param_name}"
        ) from None
    if not isinstance(value, str) or not value.strip():
        raise SecretUnavailableError(f"{spec.label} unavailable: SSM parameter {param_name} is empty")
    register_secret(value.strip())
    return value.strip()
