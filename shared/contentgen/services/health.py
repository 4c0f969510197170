"""Health reports: shallow (no provider, no SSM) and deep (each dependency asked once, briefly)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from contentgen import __version__
from contentgen.clients.secrets import GOOGLE_API_KEY, OPENROUTER_API_KEY, SecretSpec, read_api_key
from contentgen.config import Settings, get_settings
from contentgen.core.breaker import breaker_states
from contentgen.core.parallel import run_bounded
from contentgen.core.retry import ProviderFailure

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "host.docker.internal"}


def _is_loopback(url: str | None) -> bool:
    from urllib.parse import urlparse

    return bool(url) and (urlparse(url).hostname or "") in _LOOPBACK


def providers(settings: Settings) -> dict[str, str]:
    """Who answers each provider's calls: `emulator` when its base URL (`OPENROUTER_BASE_URL`,
    `GOOGLE_GEMINI_BASE_URL` / `GOOGLE_VERTEX_BASE_URL`) is on loopback, as the local stack sets
    them (no real provider is served there), else the provider's own name."""
    google_url = (
        settings.google_vertex_base_url if settings.google_use_vertexai else settings.google_gemini_base_url
    )
    return {
        "openrouter": "emulator" if _is_loopback(settings.openrouter_base_url) else "openrouter",
        "google_genai": "emulator" if _is_loopback(google_url) else "google",
    }


def health_report() -> dict[str, Any]:
    """The shallow report: `{"status": "ok", "service", "version", "function_version",
    "configured", "models", "providers"}` (see `providers`); no provider or SSM call."""
    settings = get_settings()
    return {
        "status": "ok",
        "service": os.environ.get("POWERTOOLS_SERVICE_NAME", "contentgen"),
        "version": __version__,
        "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "local"),
        "configured": settings.configured(),
        "models": {
            "text": list(settings.text_models),
            "vision": list(settings.vision_models),
            "image": list(settings.image_models),
            "video": list(settings.video_models),
        },
        "providers": providers(settings),
    }


# A passing SSM check is reused this long (the route is open: each deep check must not cost a
# decrypted read of every key); a failing one is never cached.
SSM_CHECK_CACHE_SECONDS = 60.0
_ssm_checked: tuple[float, tuple[str, ...]] | None = None


def reset_health_cache() -> None:
    global _ssm_checked
    _ssm_checked = None


def _check_ssm(settings: Settings) -> dict[str, Any]:
    """Read every configured key parameter (decrypted), at most once per SSM_CHECK_CACHE_SECONDS."""
    global _ssm_checked
    specs: list[SecretSpec] = [
        spec for spec in (OPENROUTER_API_KEY, GOOGLE_API_KEY) if getattr(settings, spec.param_setting)
    ]
    if not specs:
        return {"status": "skipped", "reason": "keys come from the environment (local run)"}
    parameters = tuple(str(getattr(settings, spec.param_setting)) for spec in specs)
    checked = _ssm_checked
    if (
        checked is not None
        and checked[1] == parameters
        and time.monotonic() - checked[0] < SSM_CHECK_CACHE_SECONDS
    ):
        return {"status": "ok", "parameters": list(parameters), "cached": True}
    for spec in specs:
        read_api_key(spec)
    _ssm_checked = (time.monotonic(), parameters)
    return {"status": "ok", "parameters": list(parameters)}


def _check_openrouter(settings: Settings) -> dict[str, Any]:
    """OpenRouter's key endpoint: free, and it proves the key is accepted."""
    # Cold start: the openai SDK loads only for a deep check, never for GET /health.
    from contentgen.connectors.openai_connector import get_openai_client

    client = get_openai_client()
    client.get("/key", cast_to=object, options={"timeout": settings.health_check_timeout_seconds})
    return {"status": "emulator" if providers(settings)["openrouter"] == "emulator" else "ok"}


def _check_google(settings: Settings) -> dict[str, Any]:
    """google-genai `models.get` for the image model: metadata only, nothing generated."""
    # Cold start: google-genai loads only for a deep check, never for GET /health.
    from google.genai import types

    from contentgen.connectors.genai_connector import get_genai_client

    get_genai_client().models.get(
        model=settings.image_model,
        config=types.GetModelConfig(
            http_options=types.HttpOptions(timeout=int(settings.health_check_timeout_seconds * 1000))
        ),
    )
    return {"status": "emulator" if providers(settings)["google_genai"] == "emulator" else "ok"}


def _classify(name: str, exc: BaseException) -> ProviderFailure | None:
    # Cold start: each SDK's connector loads only when a deep check of it failed.
    if name == "openrouter":
        from contentgen.connectors.openai_connector import classify_openai_error

        return classify_openai_error(exc)
    if name == "google_genai":
        from contentgen.connectors.genai_connector import classify_genai_error

        return classify_genai_error(exc)
    return None


def _timed(name: str, check: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        started = time.perf_counter()
        try:
            result = check()
        except Exception as exc:
            failure = _classify(name, exc)
            result = {"status": "failed"}
            if failure is not None:
                result.update(failure=failure.kind.value, http_status=failure.status)
            else:
                # Our own errors carry caller-safe messages; anything else is named by class only.
                result["error"] = getattr(exc, "message", type(exc).__name__)
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    return run


def deep_health_report() -> tuple[int, dict[str, Any]]:
    """Every dependency checked concurrently with a short timeout: 200 when all answer, else 503."""
    settings = get_settings()
    configured = settings.configured()
    checks: dict[str, Callable[[], dict[str, Any]]] = {"ssm": lambda: _check_ssm(settings)}
    if configured["openrouter_api_key"]:
        checks["openrouter"] = lambda: _check_openrouter(settings)
    if configured["google_api_key"]:
        checks["google_genai"] = lambda: _check_google(settings)
    outcomes = run_bounded([_timed(name, check) for name, check in checks.items()])
    parts = {
        name: outcome.value if outcome.value is not None else {"status": "failed", "error": "check crashed"}
        for name, outcome in zip(checks, outcomes, strict=True)
    }
    # "emulator": the check passed against the local provider emulator (no real provider involved).
    healthy = all(part["status"] in ("ok", "skipped", "emulator") for part in parts.values())
    report = {
        **health_report(),
        "status": "ok" if healthy else "degraded",
        "checks": parts,
        "circuit_breakers": breaker_states(),
    }
    return (200 if healthy else 503), report
