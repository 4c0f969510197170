"""The functions' own metrics of an invocation: one EMF line, the one Powertools' `Metrics` wrote.

`contentgen.observability.metrics` replaced Powertools' `Metrics` (docs/benchmark.md, sixth
round): the same lines (invocation metrics by service, `ColdStart` by function name and service),
through the one EMF writer, with additions from the invocation's fan-out threads kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider import cold_start

from contentgen.observability import NAMESPACE, SERVICE, InvocationMetrics
from local.lambda_context import LocalLambdaContext


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    for line in lines:
        line["_aws"].pop("Timestamp")
    return lines


@pytest.fixture
def cold() -> Iterator[None]:
    """A container that has not served an invocation yet (Powertools' own flag)."""
    was = cold_start.is_cold_start
    cold_start.is_cold_start = True
    try:
        yield
    finally:
        cold_start.is_cold_start = was


def _invoke(metrics: Any, context: LocalLambdaContext, *, fail: bool = False) -> None:
    def body(event: Any, context: Any) -> str:
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=2)
        if fail:
            raise RuntimeError("the handler failed")
        return "ok"

    handler: Any = metrics.log_metrics(capture_cold_start_metric=True)(body)
    if fail:
        with pytest.raises(RuntimeError):
            handler({}, context)
    else:
        assert handler({}, context) == "ok"


@pytest.mark.usefixtures("cold")
@pytest.mark.parametrize("fail", [False, True])
def test_an_invocation_writes_the_lines_powertools_metrics_wrote(
    capsys: pytest.CaptureFixture[str], fail: bool
) -> None:
    context = LocalLambdaContext(function_name="StorySegmentsFunction")
    _invoke(Metrics(namespace=NAMESPACE, service=SERVICE), context, fail=fail)
    theirs = _lines(capsys)
    cold_start.is_cold_start = True

    _invoke(InvocationMetrics(), context, fail=fail)
    ours = _lines(capsys)

    # Returned: ColdStart, then the metrics; raised: the metrics only, no ColdStart (as Powertools).
    assert len(ours) == (1 if fail else 2)
    assert [list(line.items()) for line in ours] == [list(line.items()) for line in theirs]


def test_a_warm_invocation_writes_no_cold_start(capsys: pytest.CaptureFixture[str]) -> None:
    was = cold_start.is_cold_start
    cold_start.is_cold_start = False
    try:
        _invoke(InvocationMetrics(), LocalLambdaContext(function_name="F"))
    finally:
        cold_start.is_cold_start = was

    assert ["ColdStart" in line for line in _lines(capsys)] == [False]


def test_no_metric_no_line_and_metrics_disabled_no_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = InvocationMetrics()
    metrics.log_metrics(lambda event, context: None)({}, LocalLambdaContext())
    assert _lines(capsys) == []

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    assert _lines(capsys) == []


def test_additions_from_the_invocations_fan_out_threads_are_all_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = InvocationMetrics()

    def add(index: int) -> None:
        for _ in range(500):
            metrics.add_metric(name=f"Errors{index % 3}", unit=MetricUnit.Count, value=1)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(8)))
    metrics.flush_metrics()

    lines = _lines(capsys)  # at most 100 values of a metric per line
    assert sum(len(line.get(f"Errors{index}", [])) for line in lines for index in range(3)) == 8 * 500
    assert all(
        len(values) <= 100 for line in lines for name, values in line.items() if name.startswith("Errors")
    )


def test_cleared_metrics_are_not_written(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = InvocationMetrics()
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.clear_metrics()
    metrics.flush_metrics()
    assert _lines(capsys) == []


def _lines_of(
    metrics: Any, additions: list[tuple[str, Any]], capsys: pytest.CaptureFixture[str]
) -> list[Any]:
    handler: Any = metrics.log_metrics(
        lambda event, context: [metrics.add_metric(name=n, unit=u, value=1) for n, u in additions]
    )
    handler({}, LocalLambdaContext(function_name="F"))
    return [list(line.items()) for line in _lines(capsys)]


@pytest.mark.parametrize(
    "additions",
    [
        [("Records", MetricUnit.Count)] * 101,  # a metric's 100 values: a line, then the rest
        [("Records", MetricUnit.Count)] * 250,
        [(f"M{index}", MetricUnit.Count) for index in range(101)],  # 100 metrics: a line, then the rest
        [("Latency", "Milliseconds"), ("Latency", MetricUnit.Seconds)],  # a unit as text; the last one wins
    ],
    ids=["101-values", "250-values", "101-metrics", "units"],
)
def test_a_line_never_passes_the_emf_limits_and_splits_where_powertools_split(
    additions: list[tuple[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by a probe: CloudWatch ignores a whole line past 100 metrics or 100 values of one."""
    theirs = _lines_of(Metrics(namespace=NAMESPACE, service=SERVICE), additions, capsys)
    ours = _lines_of(InvocationMetrics(), additions, capsys)

    assert ours == theirs
    for line in ours:
        document = dict(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert len(directive["Metrics"]) <= 100
        assert all(len(document[metric["Name"]]) <= 100 for metric in directive["Metrics"])
