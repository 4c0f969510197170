"""Cold-start hygiene: handlers import only what they use and do no network I/O at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_template import TEXT_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, socket, sys
sys.path[:0] = ["shared", "."]
def refuse(*args, **kwargs):
    raise AssertionError("network I/O at import")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from local.runtime import load_handler
from local.template import functions
load_handler(functions()[sys.argv[1]])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
      ("openai", "google", "boto3", "botocore", "httpx2") or m in LAZY)))
"""
# Loaded by the request that needs them, never at init: the idempotency store (a request with an
# `Idempotency-Key`), the paid-parts store and the fan-out (chunked stories, sets), the providers'
# "gone" wordings (the first failure).
LAZY = (
    "contentgen.stores.idempotency",
    "contentgen.stores.partials",
    "contentgen.core.parallel",
    "contentgen.connectors.model_gone",
)


def imported_by(function: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"LAZY = {LAZY!r}\n{PROBE}", function],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert result.returncode == 0, result.stderr
    return {
        name
        if name in LAZY
        else name.split(".")[0] + ("." + name.split(".")[1] if name.startswith("google.") else "")
        for name in json.loads(result.stdout.splitlines()[-1])
    }


@pytest.mark.slow  # a fresh interpreter importing the handler, each
@pytest.mark.parametrize("function", sorted(TEXT_FUNCTIONS))
def test_text_handler_never_imports_google_genai(function: str) -> None:
    modules = imported_by(function)

    assert "openai" in modules
    assert "google.genai" not in modules


@pytest.mark.slow
def test_health_imports_no_provider_sdk() -> None:
    modules = imported_by("HealthFunction")

    assert "openai" not in modules
    assert "google.genai" not in modules


@pytest.mark.slow
def test_story_segments_loads_at_init_nothing_its_usual_request_does_not_use() -> None:
    modules = imported_by("StorySegmentsFunction")

    assert not modules & set(LAZY)
