"""No key reaches any log at any level: the root logger at DEBUG through real SSM, API Gateway and
provider calls (the pins of `contentgen.observability.log_pins`)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from contentgen.observability.log_pins import PINNED_LOGGERS, pin_sdk_loggers
from local.aws import LOCAL_API_KEY
from local.lambda_context import LocalLambdaContext
from local.template import functions
from tests.integration.conftest import Handler, Invoke, Stack
from tests.integration.test_health import deep_event

pytestmark = pytest.mark.integration


@pytest.fixture
def root_at_debug() -> Iterator[io.StringIO]:
    """`logging.basicConfig(level=DEBUG)` as a caller might: every record of every logger, raw."""
    root = logging.getLogger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(previous)


def test_sdk_loggers_are_pinned_at_warning() -> None:
    pin_sdk_loggers()
    for name in PINNED_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    assert logging.getLogger("botocore.endpoint").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("openai._base_client").getEffectiveLevel() == logging.WARNING


def test_no_key_in_any_log_with_the_root_logger_at_debug(
    stack: Stack,
    health_handler: Handler,
    invoke: Invoke,
    root_at_debug: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in functions()["GenerateThumbnailFunction"].environment.items():
        if name.startswith("GOOGLE_") and not name.endswith("_BASE_URL"):  # the emulator's stay
            monkeypatch.setenv(name, value)
    context = LocalLambdaContext(function_name="HealthFunction", timeout_seconds=10)

    # SSM GetParameter (both keys, decrypted), the usage plan's key values, both providers.
    response = health_handler(deep_event(LOCAL_API_KEY), context)
    assert response["statusCode"] == 200, response["body"]
    status, answer = invoke("StorySegmentsFunction", {"prompt": "A lighthouse keeper", "segment_count": 2})
    assert status == 200, answer

    captured = capfd.readouterr()
    output = root_at_debug.getvalue() + captured.out + captured.err
    assert output  # something was logged, at DEBUG too
    for secret in (stack.key, stack.google_key, LOCAL_API_KEY):
        assert secret not in output
