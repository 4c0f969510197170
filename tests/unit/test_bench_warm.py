"""`make bench`'s warm figures: measured in a child under the functions' runtime, computed in the parent."""

from __future__ import annotations

import ast
import statistics
from typing import Any

import pytest

from local.bench import CHILD, WARM_CHILD, warm_figures


def test_the_warm_figures_take_the_aws_requests_and_the_bare_call_out_of_the_handler() -> None:
    reported: dict[str, Any] = {
        "handler_ms": [20.0, 22.0, 30.0, 21.0, 25.0],
        "handler_cpu": [5.0, 6.0, 5.5, 7.0, 5.2],
        "aws_ms": [15.0, 16.0, 24.0, 15.5, 18.0],
        "aws_cpu": [1.5, 1.6, 1.4, 1.7, 1.5],
        "aws_calls": [2, 2, 2, 2, 2],
        "bare_ms": [3.0, 2.0, 2.5, 4.0, 2.2],
        "bare_cpu": [1.4, 1.5, 1.3, 1.6, 1.4],
    }

    figures = warm_figures(reported)

    # own overhead = median(handler - AWS requests, per invocation) - median(bare call)
    assert figures["own_overhead_median_ms"] == pytest.approx(6.0 - 2.5)  # (5, 6, 6, 5.5, 7) - 2.5
    # CPU: (3.5, 4.4, 4.1, 5.3, 3.7) - 1.4
    assert figures["own_overhead_cpu_median_ms"] == pytest.approx(4.1 - 1.4)
    assert figures["handler_median_ms"] == 22.0
    assert figures["bare_median_ms"] == 2.5
    assert figures["overhead_median_ms"] == pytest.approx(22.0 - 2.5)
    assert figures["aws_median_ms"] == 16.0
    assert figures["aws_calls_median"] == 2
    assert figures["handler_p90_ms"] == statistics.quantiles(reported["handler_ms"], n=10)[-1]
    assert figures["handler_cpu_median_ms"] == 5.5
    assert figures["bare_cpu_median_ms"] == 1.4
    assert figures["aws_cpu_median_ms"] == 1.5


def test_the_timed_children_import_nothing_the_lambda_would_not() -> None:
    """No local.* module, no PyYAML: the children run the function as the runtime would."""
    for source in (CHILD, WARM_CHILD):
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & {"local", "yaml"}, imported


def test_the_warm_figures_of_several_processes_are_their_medians_with_each_process_shown() -> None:
    from local.bench import combined_warm_figures

    runs = [
        {"own_overhead_median_ms": 1.2, "own_overhead_cpu_median_ms": 1.1, "aws_calls_median": 2.0},
        {"own_overhead_median_ms": 0.9, "own_overhead_cpu_median_ms": 0.8, "aws_calls_median": 2.0},
        {"own_overhead_median_ms": 1.0, "own_overhead_cpu_median_ms": 1.3, "aws_calls_median": 2.0},
    ]

    combined = combined_warm_figures(runs)

    assert combined["own_overhead_median_ms"] == 1.0
    assert combined["own_overhead_cpu_median_ms"] == 1.1
    assert combined["aws_calls_median"] == 2.0
    assert combined["own_overhead_runs_ms"] == [1.2, 0.9, 1.0]
    assert combined["own_overhead_cpu_runs_ms"] == [1.1, 0.8, 1.3]
