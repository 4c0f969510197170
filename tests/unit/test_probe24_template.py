"""probe24: template.yaml against what issue 24 and the video job's own docs promise."""

from __future__ import annotations

import json
from typing import Any

from local.template import load_template


def _mentions(value: Any, *names: str) -> bool:
    text = json.dumps(value)
    return all(name in text for name in names)


def test_the_job_deadline_cannot_be_set_past_the_executions_timeout() -> None:
    """VideoJobDeadlineSeconds (max 86400) and VideoJobExecutionTimeoutSeconds (default 2100) are
    independent parameters: `sam deploy --parameter-overrides VideoJobDeadlineSeconds=3600` is
    accepted, and every job whose Veo operation takes over 2100 s is then ended TIMED_OUT by
    Lambda before its own deadline, leaving the row `running` with no JobFailed
    (tests/integration/test_probe24_video_jobs.py shows the row). The Descriptions ask for
    "+900 s", nothing enforces it.

    Should: a CloudFormation `Rules` assertion (Fn::Assert over both parameters), or one
    parameter derived from the other."""
    template = load_template()
    rules = template.get("Rules") or {}
    assert any(
        _mentions(rule, "VideoJobDeadlineSeconds", "VideoJobExecutionTimeoutSeconds")
        for rule in rules.values()
    ), "no Rules assertion ties the job's deadline to DurableConfig.ExecutionTimeout"


def test_video_requests_that_arrive_by_sqs_or_eventbridge_have_a_way_in() -> None:
    """functions/generate_video/app.py: "Requests that arrive by SQS or EventBridge (`request_id`
    + request) come through the same route: this function is their dispatcher"; issue 24: "the
    queue path for requests that arrive by SQS/EventBridge starts executions too". The template
    gives GenerateVideoFunction no queue, no event source mapping and no bus rule (every text
    function has all three), so that path cannot receive anything once deployed; the test that
    proves its dedupe (test_the_same_start_delivered_twice_on_sqs_makes_one_execution) hands the
    handler a message from StorySegmentsQueue's ARN.

    Should: a video request queue + mapping + bus rule as the other event routes have (or the
    claim and the test removed)."""
    resources = load_template()["Resources"]
    mappings = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"].get("FunctionName") == {"Ref": "GenerateVideoFunction"}
    ]
    events = resources["GenerateVideoFunction"]["Properties"].get("Events", {})
    sqs_or_bus_events = [
        e for e in events.values() if e["Type"] in {"SQS", "EventBridgeRule", "CloudWatchEvent"}
    ]
    assert mappings or sqs_or_bus_events, "GenerateVideoFunction has no SQS/EventBridge entry point"


def test_the_durable_video_job_sends_terminally_failed_executions_somewhere() -> None:
    """AWS, durable-best-practices.html (Error handling): "configure a dead-letter queue (DLQ) on
    your durable function to capture events from permanently failed executions. When a durable
    execution reaches a terminal state (FAILED, STOPPED, or TIMED_OUT) after an asynchronous
    invocation ..." - POST /videos starts executions asynchronously, and such an execution never
    runs the `finish` step (its row stays running, no JobFailed: see
    tests/integration/test_probe24_video_jobs.py). VideoJobFunction has no DeadLetterQueue and no
    EventInvokeConfig OnFailure destination (GenerateVideoFunction has one), so the only trace is
    an alarm count: nothing names the job, nothing can finish it.

    Should: an OnFailure destination / DLQ on the durable function (and something that fails the
    job row from it)."""
    properties = load_template()["Resources"]["VideoJobFunction"]["Properties"]
    on_failure = (properties.get("EventInvokeConfig") or {}).get("DestinationConfig", {}).get("OnFailure")
    assert on_failure or properties.get("DeadLetterQueue"), (
        "no DLQ / OnFailure destination on VideoJobFunction"
    )
