"""The local stack as people use it (issue 23, item 7): a budget that fits local use, printed in
the banner, and a spent budget that says so at once, through `make api`'s own process."""

from __future__ import annotations

import json
import re
import time

import pytest

from contentgen.catalog import default_chain, video_price_usd
from contentgen_client import Client
from contentgen_client.cli import EXIT_CLIENT
from local.aws import LOCAL_API_KEY, client
from local.template import physical_name
from tests.integration.cli_process import environment, run_cli
from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration


def test_the_banner_prints_a_daily_budget_that_fits_local_use(make_api: RunningStack) -> None:
    assert "daily budget    1,000.00 USD per API key (local" in make_api.banner
    assert "deployed default 10 USD" in make_api.banner

    with Client(make_api.api_url, LOCAL_API_KEY, timeout=60) as api:
        report = api.usage()
        video = api.video("a paper boat on a rainy street", duration_seconds=8)
        thumbnail = api.thumbnail("a robot painting a sunset")
    assert report.daily_budget_usd == 1000
    assert video.job_id
    assert thumbnail.usage is not None
    assert thumbnail.usage.cost_usd is not None
    # A video job's 202 carries no cost (the durable job charges it): the dearest video model of
    # either Google backend, at this duration, from the catalog.
    prices = [video_price_usd(m) for m in (*default_chain("video"), *default_chain("video_gemini_api"))]
    video_cost = max(float(p) for p in prices if p is not None) * 8
    # What `make demo` spends and more: a hundred placeholder videos and thumbnails a day.
    assert 100 * (video_cost + thumbnail.usage.cost_usd) <= report.daily_budget_usd


def test_a_spent_budget_fails_at_once_and_says_when_it_starts_again(make_api: RunningStack) -> None:
    apigateway = client("apigateway", make_api.aws_url)
    key_id = next(
        key["id"]
        for key in apigateway.get_api_keys(includeValues=True)["items"]
        if key["value"] == LOCAL_API_KEY
    )
    dynamodb = client("dynamodb", make_api.aws_url)
    table = physical_name("SpendTable")
    budget = {"pk": {"S": f"budget#{key_id}"}, "sk": {"S": "budget"}}
    # The day's spend past any budget: a warm container may hold the budget item it read last (up
    # to a minute), so the day item itself says the budget is spent (settled cost, nothing held).
    day = {"pk": {"S": key_id}, "sk": {"S": time.strftime("%Y-%m-%d", time.gmtime())}}
    before = dynamodb.get_item(TableName=table, Key=day).get("Item")
    spent = {"committed_usd": {"N": "1000000"}, "cost_usd": {"N": "1000000"}}
    dynamodb.put_item(TableName=table, Item={**budget, "daily_budget_usd": {"N": "0"}})
    dynamodb.put_item(TableName=table, Item={**(before or day), **spent})
    try:
        outcome = run_cli(environment(make_api.api_url, LOCAL_API_KEY), "story", "a robot learns to paint")
        scripted = run_cli(environment(make_api.api_url, LOCAL_API_KEY), "--json", "thumbnail", "a robot")
    finally:
        dynamodb.delete_item(TableName=table, Key=budget)
        if before is None:
            dynamodb.delete_item(TableName=table, Key=day)
        else:
            dynamodb.put_item(TableName=table, Item=before)

    assert outcome.returncode == EXIT_CLIENT
    assert outcome.sleeps == []  # not one retry waited
    assert "budget_exceeded" in outcome.stderr
    assert "Try again in" in outcome.stderr
    # Retry-After is whole seconds to 00:00 UTC, counted from when the API answered.
    assert re.search(r"\(at (23:59:5\d|00:00:0\d) UTC", outcome.stderr), outcome.stderr
    problem = json.loads(scripted.stdout)["error"]
    assert problem["code"] == "budget_exceeded"
    assert re.search(r"T(23:59:5\d|00:00:0\d)Z$", problem["retry_at"]), problem
