"""The durable job functions and the dead-letter reaper write their invocation's own metrics.

Found in issue 26's sixth round: only the API and queue entry points flushed the function's
metrics, so what a job's invocation counted (the spend ledger's errors, the results store's
`EventsNotPublished`, ...) was never written, and the alarms on them never heard of a job's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit

from contentgen.entrypoints import durable, reaper
from contentgen.observability import metrics
from local.lambda_context import LocalLambdaContext


def _counted(capsys: pytest.CaptureFixture[str], name: str) -> int:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return sum(len(line.get(name, [])) for line in lines)


def test_a_durable_job_invocation_writes_its_metrics_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def execution(handler: Any) -> Any:  # the durable SDK's wrapper: this invocation counts one
        def invoke(event: Any, context: Any) -> dict[str, str]:
            metrics.add_metric(name="SpendLedgerErrors", unit=MetricUnit.Count, value=1)
            return {"Status": "PENDING"}

        return invoke

    monkeypatch.setattr(durable, "durable_execution", execution)
    lambda_handler = durable.durable_job("video")(lambda run: None)  # type: ignore[arg-type,return-value]

    assert lambda_handler({}, LocalLambdaContext(function_name="VideoJobFunction")) == {"Status": "PENDING"}
    assert _counted(capsys, "SpendLedgerErrors") == 1


def test_the_reaper_writes_its_metrics_when_it_ends(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def reap(payload: dict[str, Any]) -> None:
        metrics.add_metric(name="EventsNotPublished", unit=MetricUnit.Count, value=1)

    monkeypatch.setattr(reaper, "reap_failed_execution", reap)
    monkeypatch.setattr(reaper, "reap_webhook", lambda payload, time_left_s: True)

    answer = reaper.reaper_handler({"Records": [{"messageId": "m", "body": "{}"}]}, LocalLambdaContext())

    assert answer == {"batchItemFailures": []}
    assert _counted(capsys, "EventsNotPublished") == 1
