"""What API Gateway answers for itself, as template.yaml declares it (issue 23, items 8 and 9)."""

from __future__ import annotations

import json
import re

from local import gateway_responses
from tests.conftest import ROOT


def test_a_missing_or_wrong_key_is_told_what_to_check() -> None:
    status, headers, body = gateway_responses.render("INVALID_API_KEY", "req-1")
    answer = json.loads(body)

    assert (status, answer["code"], answer["request_id"]) == (403, "forbidden", "req-1")
    assert headers["X-Request-Id"] == "req-1"
    message = answer["message"]
    assert message != "Forbidden"
    # The header by name, and each way a key goes wrong: absent, misspelt, not enabled in the plan.
    for what in ("x-api-key header", "is sent", "spelled exactly", "enabled", "usage plan"):
        assert what in message, what


SKIPPED = {
    ".venv",
    ".git",
    "build",
    "local-output",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
}


def _tracked_text_files() -> list[str]:
    """The project's own text files (not the virtualenv, caches or build output)."""
    return [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.suffix in (".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt")
        and not SKIPPED & set(path.relative_to(ROOT).parts)
        and path.is_file()
    ]


def test_a_body_over_6_mb_has_one_name_everywhere() -> None:
    status, _, body = gateway_responses.render("REQUEST_TOO_LARGE", "req-2")
    assert (status, json.loads(body)["code"]) == (413, "payload_too_large")

    layer = "\n".join(path.read_text() for path in (ROOT / "shared" / "contentgen").rglob("*.py"))
    assert re.search(r'code = "payload_too_large"', layer), "the functions' own 413 is payload_too_large"

    other_names = [
        name
        for name in _tracked_text_files()
        if name != "tests/unit/test_gateway_answers.py"
        # The response type REQUEST_TOO_LARGE is API Gateway's; the code callers see is one name.
        and re.search(r"\brequest_too_large\b", (ROOT / name).read_text(errors="replace"))
    ]
    assert other_names == []


def test_the_openapi_document_shows_the_same_403() -> None:
    from local.openapi import ERRORS

    _, _, body = gateway_responses.render("INVALID_API_KEY", "req-3")
    assert ERRORS[403][2] == json.loads(body)["message"]
