"""`make bench-spend`: spend vs budget under concurrency (issue 22 finding 1), text and video.

N requests of ONE API key are released at once (a barrier) against moto and the provider
emulator, in this process, as API Gateway would invoke the functions: `POST /stories/segments`
(text: OpenRouter's `usage.cost`, reserved beforehand as an upper bound) and `POST /videos`
(8 s at the chain's dearest per-second price, held at the API before the durable job starts; the
jobs run in the testing SDK's runner, `local.durable`, and each one's cost is read from its job
row). The budget is set so a few requests fit. Printed per case: the budget, what was spent (the ledger's settled `cost_usd`),
how many ran, the largest single request, what is still reserved, and the verdict: spend <=
budget + one request's cost.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

STORY = {"prompt": "A lighthouse keeper finds a message in a bottle", "segment_count": 2}
VIDEO = {"prompt": "A paper boat on a rainy street", "duration_seconds": 8}


@dataclass(frozen=True)
class Case:
    kind: str
    concurrency: int
    budget: Decimal
    spent: Decimal
    ran: int
    refused: int
    largest: Decimal
    reserved: Decimal
    other: tuple[str, ...] = ()  # answers neither a success nor a budget refusal: status and code

    @property
    def holds(self) -> bool:
        return self.spent <= self.budget + self.largest and self.reserved == 0


def _call(function: str, path: str, body: Any, key: str) -> tuple[int, dict[str, Any]]:
    from local.api_gateway import STAGE, proxy_event
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler
    from local.template import Route, functions

    handler = _handlers.setdefault(function, load_handler(functions()[function]))
    # The event the local gateway builds for an authorized request (stage prefix, the key's id).
    route = Route(method="POST", path=path, function=function, api_key_required=True)
    headers = {"Content-Type": "application/json"}
    event = proxy_event(route, "POST", f"/{STAGE}{path}", headers, json.dumps(body).encode(), {}, "127.0.0.1")
    event["requestContext"]["identity"]["apiKeyId"] = key
    response = handler(event, LocalLambdaContext(function_name=function, timeout_seconds=29))
    return int(response["statusCode"]), json.loads(response["body"])


_handlers: dict[str, Any] = {}


def run_case(kind: str, concurrency: int, budget: Decimal) -> Case:
    """`concurrency` requests of one fresh key at once on a `budget` USD day."""
    from contentgen.stores import ledger

    function, path, body = (
        ("StorySegmentsFunction", "/stories/segments", STORY)
        if kind == "text"
        else ("GenerateVideoFunction", "/videos", VIDEO)
    )
    key = f"bench-{uuid.uuid4().hex[:12]}"
    ledger.set_daily_budget(key, budget)
    _call(function, path, body, f"warm-{uuid.uuid4().hex[:8]}")  # imported and warm before the race
    start = threading.Barrier(concurrency, timeout=120)

    def one(_: int) -> tuple[int, dict[str, Any]]:
        start.wait()
        return _call(function, path, body, key)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        answers = list(pool.map(one, range(concurrency)))
    costs = [_cost(status, answer) for status, answer in answers if status in (200, 202)]
    report = ledger.usage_report(key)
    return Case(
        kind=kind,
        concurrency=concurrency,
        budget=budget,
        spent=Decimal(str(report["settled_today_usd"])),
        ran=len(costs),
        refused=sum(
            1 for status, answer in answers if status == 429 and answer.get("code") == "budget_exceeded"
        ),
        largest=max(costs, default=Decimal(0)),
        reserved=Decimal(str(report["reserved_today_usd"])),
        other=tuple(
            sorted(
                f"{status} {answer.get('code')}"
                for status, answer in answers
                if status not in (200, 202) and answer.get("code") != "budget_exceeded"
            )
        ),
    )


def _cost(status: int, answer: dict[str, Any]) -> Decimal:
    """What one admitted request cost: its `usage` (200), or its video job's, once finished (202)."""
    if status == 200:
        return Decimal(str(answer["usage"]["cost_usd"]))
    from contentgen.stores.jobs import get_job

    assert _durable is not None, "video jobs need the local durable service"
    _durable.result(_durable_name(), answer["job_id"])
    job = get_job(answer["job_id"])
    return Decimal(str(job.cost_usd or 0)) if job is not None else Decimal(0)


_durable: Any = None  # the local durable service (video jobs), while the bench runs


def _durable_name() -> str:
    from local.template import physical_name

    return physical_name("VideoJobFunction")


def spend_vs_budget(concurrencies: tuple[int, ...] = (20, 100)) -> list[Case]:
    """Each kind at each concurrency: text on a budget of three stories' cost, video on 4 USD."""
    probe = _call("StorySegmentsFunction", "/stories/segments", STORY, f"probe-{uuid.uuid4().hex[:8]}")[1]
    story_cost = Decimal(str(probe["usage"]["cost_usd"]))
    cases: list[Case] = []
    for concurrency in concurrencies:
        cases.append(run_case("text", concurrency, 3 * story_cost))
        cases.append(run_case("video", concurrency, Decimal(4)))
    return cases


def print_cases(cases: list[Case]) -> None:
    print("\nspend vs budget, one API key, requests released together (make bench-spend)")
    print(
        f"{'kind':<6}{'N':>5}{'budget USD':>14}{'spent USD':>14}{'ran':>6}{'429':>6}{'one req USD':>14}  verdict"
    )
    for case in cases:
        verdict = "OK: spend <= budget + one request" if case.holds else "OVERSPENT"
        print(
            f"{case.kind:<6}{case.concurrency:>5}{case.budget:>14.8f}{case.spent:>14.8f}{case.ran:>6}"
            f"{case.refused:>6}{case.largest:>14.8f}  {verdict}"
            + (f" ({case.reserved} USD still reserved)" if case.reserved else "")
            + (f"; other answers: {', '.join(case.other)}" if case.other else "")
        )


def main() -> int:
    """`python -m local.bench_budget`: starts moto and the emulator, runs the cases, prints them."""
    import os
    import sys

    from local.aws import AWS_TEST_ENV, MotoServer, provision
    from local.bench import emulator_process
    from local.emulator import LOCAL_VERTEX_PROJECT
    from local.params_extension import ParametersExtension
    from local.runtime import SHARED, LocalRuntime

    os.environ.update(AWS_TEST_ENV)
    moto = MotoServer().start()
    provision(moto.url, environ={})
    extension = ParametersExtension(moto.url).start()
    try:
        with emulator_process() as emulator_url:
            os.environ.update({key: value for key, value in LocalRuntime().environment().items() if value})
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": moto.url,
                    "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                    "GOOGLE_VERTEX_BASE_URL": emulator_url,
                    "GOOGLE_CLOUD_PROJECT": LOCAL_VERTEX_PROJECT,
                    "GOOGLE_GEMINI_BASE_URL": emulator_url,
                    "POWERTOOLS_TRACE_DISABLED": "true",
                    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
                    "GOOGLE_GENAI_USE_VERTEXAI": "true",
                }
            )
            sys.path.insert(0, SHARED)
            from local.bench import quiet

            global _durable
            from local.durable import LocalDurableService

            _durable = LocalDurableService(skip_time=True).start_runners()
            try:
                with quiet():
                    cases = spend_vs_budget()
            finally:
                _durable.stop()
    finally:
        extension.shutdown()
        moto.stop()
    print_cases(cases)
    return 0 if all(case.holds for case in cases) else 1


if __name__ == "__main__":
    raise SystemExit(main())
