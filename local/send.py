"""Send one generation request to the running local stack by SQS or EventBridge, wait for its result.

    .venv/bin/python -m local.send story_segments '{"prompt": "a robot learns to paint", "segment_count": 3}' --via sqs

The function is named by its folder (`story_segments`, `trending_ideas`, ...), as an event's
`detail-type` names it. The request goes, with a fresh `request_id`, into the function's queue
(`--via sqs`) or onto the contentgen bus (`--via events`, where the function's rule puts it into
the same queue); the result is then read with `GET /results/{request_id}` until it is stored.
It reads where the stack listens from `local-output/stack.json`, which `make api` writes, and
says so in one line when no stack is running.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from local.template import bus_rules, physical_name

STATE_FILE = Path(__file__).resolve().parent.parent / "local-output" / "stack.json"


class StackNotRunning(RuntimeError):
    """No local stack answers; the message is one line for the user."""


def read_state(path: Path = STATE_FILE) -> dict[str, str]:
    """Where the running stack listens; raises StackNotRunning when it is not up."""
    hint = "the local stack is not running: start it with `make api` (in another terminal) and try again"
    try:
        state: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        raise StackNotRunning(hint) from None
    try:
        with urllib.request.urlopen(f"{state['api_url']}/health", timeout=5):
            pass
    except (OSError, KeyError):
        raise StackNotRunning(hint) from None
    return state


def _rule_for(function: str) -> Any:
    for rule in bus_rules():
        if function in rule.pattern.get("detail-type", []):
            return rule
    names = sorted(name for rule in bus_rules() for name in rule.pattern.get("detail-type", []))
    raise SystemExit(f"no function {function!r} takes requests by queue or event; one of: {', '.join(names)}")


def send(
    state: dict[str, str], function: str, request: dict[str, Any], via: str, request_id: str | None = None
) -> str:
    """Put the request into the function's queue (`sqs`) or on the bus (`events`); its request_id."""
    from local.api_keys import api_key_id
    from local.aws import client

    rule = _rule_for(function)
    request_id = request_id or f"send-{uuid.uuid4().hex[:12]}"
    # Charged to (and readable with) the stack's API key: a message naming no `api_key_id` is charged
    # to the pipeline key, and a result answers only the key charged.
    message = {
        "request_id": request_id,
        "request": request,
        "api_key_id": api_key_id(state["api_key"], state["aws_url"]),
    }
    if via == "sqs":
        sqs = client("sqs", state["aws_url"])
        url = sqs.get_queue_url(QueueName=physical_name(rule.queue))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    else:
        entry = {
            "EventBusName": physical_name(rule.bus),
            "Source": "local.send",
            "DetailType": function,
            "Detail": json.dumps(message),
        }
        client("events", state["aws_url"]).put_events(Entries=[entry])
    return request_id


def wait_for_result(
    state: dict[str, str], request_id: str, timeout: float = 60.0
) -> tuple[int, dict[str, Any]]:
    """Poll `GET /results/{request_id}` until it is stored (200) or `timeout` seconds pass (404)."""
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            f"{state['api_url']}/results/{request_id}", headers={"x-api-key": state["api_key"]}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            if error.code != 404 or time.monotonic() > deadline:
                return error.code, body
        time.sleep(0.3)


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("function", help="the function's folder name, e.g. story_segments")
    parser.add_argument("request", help="the request body as JSON")
    parser.add_argument("--via", choices=("sqs", "events"), default="sqs")
    parser.add_argument("--request-id", default=None, help="default: a fresh one")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the result")
    args = parser.parse_args(arguments)
    try:
        request = json.loads(args.request)
    except ValueError as exc:
        print(f"the request is not JSON: {exc}", file=sys.stderr)
        return 2
    try:
        state = read_state()
    except StackNotRunning as down:
        print(down, file=sys.stderr)
        return 1
    request_id = send(state, args.function, request, args.via, args.request_id)
    print(
        f"sent {args.function} request {request_id} via {args.via}; waiting for its result", file=sys.stderr
    )
    status, body = wait_for_result(state, request_id, args.timeout)
    print(json.dumps(body, indent=2))
    return 0 if status == 200 and body.get("status") == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
