"""POST /content over the wire."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "FreeContentFunction"


def test_free_text_with_max_tokens_passed_through(stack: Stack, invoke: Invoke) -> None:
    status, answer = invoke(FUNCTION, {"prompt": "A caption for a sunrise timelapse", "max_tokens": 77})

    assert status == 200
    assert answer["content"]
    assert answer["truncated"] is False
    (request,) = stack.provider.requests()
    assert request["body"]["max_tokens"] == 77
    assert "response_format" not in request["body"]
    assert request["body"]["messages"][-1]["content"] == "A caption for a sunrise timelapse"


def test_without_max_tokens_none_is_sent(stack: Stack, invoke: Invoke) -> None:
    assert invoke(FUNCTION, {"prompt": "x"})[0] == 200
    assert "max_tokens" not in stack.provider.requests()[0]["body"]


def test_empty_reply_is_502(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "reply", "content": "   "})

    status, answer = invoke(FUNCTION, {"prompt": "x"})

    assert status == 502
    assert answer["code"] == "invalid_model_output"


def test_transient_failure_is_retried(stack: Stack, invoke: Invoke) -> None:
    stack.provider.faults({"kind": "drop"})

    assert invoke(FUNCTION, {"prompt": "x"})[0] == 200
    assert len(stack.provider.requests()) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "max_tokens": 4001}, "max_tokens"),
        ({"prompt": "x", "max_tokens": "100"}, "max_tokens"),
        ({"prompt": "x" * 4001}, "prompt"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)
