"""The AWS overhead arithmetic of `make bench` (local/bench_spend.py)."""

from __future__ import annotations

import math

from local.bench_spend import (
    API_GATEWAY_REST_USD_PER_REQUEST,
    DYNAMODB_USD_PER_READ_UNIT,
    DYNAMODB_USD_PER_WRITE_UNIT,
    LAMBDA_ARM64_USD_PER_GB_SECOND,
    LAMBDA_USD_PER_REQUEST,
    Counted,
    overhead,
)


def test_per_generation_costs_from_measured_durations_requests_and_bytes() -> None:
    counted = Counted(write_units=4, read_units=2)

    figures = overhead(
        durations_ms=[9.2, 10.0],  # billed as 10 + 10 ms
        memory_mb=512,
        counted=counted,
        log_bytes=2 * 1024**3,
        model_usd=0.6,
        over_http=True,
    )

    assert math.isclose(figures.lambda_compute, 0.01 * 0.5 * LAMBDA_ARM64_USD_PER_GB_SECOND)
    assert figures.lambda_requests == LAMBDA_USD_PER_REQUEST
    assert figures.api_gateway == API_GATEWAY_REST_USD_PER_REQUEST
    assert math.isclose(
        figures.dynamodb, (4 * DYNAMODB_USD_PER_WRITE_UNIT + 2 * DYNAMODB_USD_PER_READ_UNIT) / 2
    )
    assert math.isclose(figures.logs, 0.5)  # 1 GB per generation at 0.50 USD per GB
    assert math.isclose(figures.model, 0.3)
    assert math.isclose(
        figures.aws,
        figures.lambda_compute
        + figures.lambda_requests
        + figures.api_gateway
        + figures.dynamodb
        + figures.logs,
    )


def test_the_queue_path_pays_no_api_gateway() -> None:
    figures = overhead(
        durations_ms=[1.0], memory_mb=512, counted=Counted(), log_bytes=0, model_usd=1.0, over_http=False
    )

    assert figures.api_gateway == 0.0
