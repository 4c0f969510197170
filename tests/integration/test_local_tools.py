"""The local stack's tools over the wire: `local.send` by SQS and EventBridge, the console line
for a malformed request message, clearing the emulator's faults."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import send
from local.api_gateway import LocalApiServer
from local.aws import LOCAL_API_KEY
from local.emulator import EmulatorServer
from local.event_sources import start_pollers
from local.runtime import LocalRuntime
from tests.integration.conftest import Owned, Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def running(stack: Stack) -> Iterator[dict[str, str]]:
    """A running local API and event source mappings, described as `make api` records them."""
    runtime = LocalRuntime()
    api = LocalApiServer(runtime, aws_url=stack.aws_url).start()
    pollers = start_pollers(runtime, stack.aws_url)
    yield {"api_url": api.url, "aws_url": stack.aws_url, "api_key": LOCAL_API_KEY}
    for poller in pollers:
        poller.stop.set()
    for poller in pollers:
        poller.close()
    api.shutdown()


@pytest.mark.parametrize("via", ["sqs", "events"])
def test_send_puts_a_request_on_the_event_path_and_reads_its_result(
    running: dict[str, str], via: str
) -> None:
    request_id = send.send(running, "story_segments", {"prompt": "A clockmaker", "segment_count": 2}, via)

    status, stored = send.wait_for_result(running, request_id, timeout=60)

    assert status == 200, stored
    assert stored["status"] == "succeeded"
    assert len(stored["result"]["segments"]) == 2


def test_send_says_in_one_line_when_the_stack_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(send, "STATE_FILE", tmp_path / "stack.json")
    assert send.main(["story_segments", '{"prompt": "x"}']) == 1
    (tmp_path / "stack.json").write_text(
        json.dumps({"api_url": "http://127.0.0.1:9", "aws_url": "-", "api_key": "-"})
    )
    assert send.main(["story_segments", '{"prompt": "x"}']) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert all("not running" in line and "make api" in line for line in lines)


def test_a_malformed_request_message_shows_on_the_console_when_it_arrives(stack: Stack, owned: Owned) -> None:
    console = io.StringIO()
    poller = owned.queue("MemeSegmentsFunction", visibility_timeout=0)
    poller.console = console
    owned.sqs.send_message(QueueUrl=poller.queue_url, MessageBody="this is not json")

    assert poller.poll_once() == 1

    lines = console.getvalue().splitlines()
    assert any(
        f"{poller.queue_name}: malformed message" in line and "(not JSON, receive 1)" in line
        for line in lines
    ), lines
    assert any("1 message(s), 1 failed" in line for line in lines), lines


def _post(url: str, body: dict[str, object], method: str = "POST") -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


@pytest.mark.parametrize("clear", ["delete", "empty list"])
def test_the_emulators_faults_can_be_cleared(emulator: EmulatorServer, clear: str) -> None:
    _post(f"{emulator.url}/_emulator/faults", {"faults": [{"kind": "server_error", "count": 5}]})
    assert emulator.state.faults

    if clear == "delete":
        _post(f"{emulator.url}/_emulator/faults", {}, method="DELETE")
    else:
        _post(f"{emulator.url}/_emulator/faults", {"faults": []})

    assert emulator.state.faults == []
