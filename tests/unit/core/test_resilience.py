"""Circuit breakers, the per-container limiter and model fallback, with fake clocks and providers."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from contentgen.config import Settings
from contentgen.core.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    CircuitBreaker,
    LocalCircuitStore,
    OutcomeWindow,
    ProviderCircuitOpenError,
    SharedCircuitStore,
    breaker_for,
    provider_breaker_for,
)
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.core.limiter import ProviderLimiter, SlotUnavailable
from contentgen.core.retry import Attempt, FailureKind, ProviderCaller, ProviderFailure
from contentgen.errors import (
    CircuitOpenError,
    ProviderRequestRejectedError,
    ProviderUnavailableError,
)
from local.aws import create_table_as_declared


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def settings(**values: object) -> Settings:
    defaults: dict[str, object] = {
        "BREAKER_FAILURE_RATE": 0.5,
        "BREAKER_MIN_CALLS": 4,
        "BREAKER_WINDOW_SECONDS": 60,
        "BREAKER_COOLDOWN_SECONDS": 30,
    }
    return Settings.model_validate({**defaults, **values})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("P", "m", LocalCircuitStore(30, clock), settings(), clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.failed(breaker.admit())


def succeed(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.succeeded(breaker.admit())


# -- circuit breaker --------------------------------------------------------------------------


def test_opens_on_a_share_of_failures_not_on_a_streak(breaker: CircuitBreaker) -> None:
    succeed(breaker, 3)
    fail(breaker, 2)  # 2 of 5 failed: 40 %
    assert breaker.state() == CLOSED

    fail(breaker, 1)  # 3 of 6: 50 %
    assert breaker.state() == OPEN


def test_too_few_calls_never_open_it(breaker: CircuitBreaker) -> None:
    fail(breaker, 3)  # 100 %, but only 3 calls of the 4 needed

    assert breaker.state() == CLOSED


def test_failures_older_than_the_window_do_not_count(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 61
    succeed(breaker, 3)
    fail(breaker, 1)  # in the window: 1 of 4

    assert breaker.state() == CLOSED


def test_while_open_calls_fail_fast_with_the_cooldown_left(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 4)
    clock.now += 10

    with pytest.raises(CircuitOpenError) as caught:
        breaker.admit()

    assert caught.value.status_code == 503
    assert caught.value.retry_after == 20
    assert "m" in caught.value.message


def test_after_the_cooldown_one_probe_goes_through_and_its_success_closes(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 4)
    clock.now += 30

    probe = breaker.admit()
    assert probe.probe
    assert breaker.state() == HALF_OPEN
    with pytest.raises(CircuitOpenError):
        breaker.admit()  # everyone else still fails fast while the probe runs

    breaker.succeeded(probe)
    assert breaker.state() == CLOSED
    assert not breaker.admit().probe


def test_a_failed_probe_opens_it_for_another_cooldown(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 4)
    clock.now += 30
    breaker.failed(breaker.admit())

    assert breaker.state() == OPEN
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        breaker.admit()
    clock.now += 1
    assert breaker.admit().probe


def test_a_probe_that_ends_without_a_verdict_frees_the_next_probe(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    fail(breaker, 4)
    clock.now += 30
    breaker.released(breaker.admit())

    assert breaker.admit().probe


def test_transitions_are_logged_and_counted(
    breaker: CircuitBreaker, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    fail(breaker, 4)
    clock.now += 30
    breaker.succeeded(breaker.admit())

    emitted = capsys.readouterr().out
    for metric in ("BreakerOpened", "BreakerHalfOpened", "BreakerClosed"):
        assert f'"{metric}"' in emitted


@pytest.fixture
def breaker_table() -> Iterator[str]:
    with mock_aws():
        create_table_as_declared(
            boto3.client("dynamodb", region_name="us-east-1"), "BreakerStateTable", "breakers"
        )
        yield "breakers"


def test_shared_state_makes_every_container_fail_fast_and_elects_one_probe(
    breaker_table: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", clock)  # Powertools stamps records with datetime.now()
    containers = [
        CircuitBreaker(
            "P", "m", SharedCircuitStore(breaker_table, cooldown=30, cache_seconds=1), settings(), clock
        )
        for _ in range(3)
    ]
    first, second, third = containers
    fail(first, 4)

    with pytest.raises(CircuitOpenError):
        second.admit()  # never saw a failure itself
    time.sleep(1.1)  # past Powertools' local cache of the state (whole seconds, real clock)
    clock.now += 31
    probes = []
    for container in (second, third):
        with contextlib.suppress(CircuitOpenError):
            probes.append(container.admit())
    assert [permit.probe for permit in probes] == [True]
    second.succeeded(probes[0])
    time.sleep(1.1)
    assert third.state() == CLOSED


def test_an_unreachable_shared_store_fails_open(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    store = SharedCircuitStore("missing", cooldown=30, cache_seconds=1)
    breaker = CircuitBreaker("P", "m", store, settings(), clock)

    assert not breaker.admit().probe
    fail(breaker, 4)  # writes fail too: logged, the call path carries on


# -- limiter ------------------------------------------------------------------------------------


def test_concurrency_never_exceeds_the_bound() -> None:
    limiter = ProviderLimiter(3, spacing=0, max_spacing=0)
    active = 0
    peak = 0
    lock = threading.Lock()
    full = threading.Event()  # the first three hold their slots until all three are in

    def work() -> None:
        nonlocal active, peak
        with limiter.slot(60):
            with lock:
                active += 1
                peak = max(peak, active)
                if active == 3:
                    full.set()
            full.wait(timeout=60)
            with lock:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert peak == 3


def test_a_429_holds_every_request_then_spaces_them_at_the_providers_pace() -> None:
    waits: list[float] = []
    clock = Clock()
    limiter = ProviderLimiter(5, spacing=0.2, max_spacing=2, clock=clock, sleep=waits.append)

    limiter.throttled(0.5)  # the provider asked for 0.5 s: that is its pace for now
    with limiter.slot(10):
        pass
    with limiter.slot(10):
        pass

    assert waits == [0.5, pytest.approx(1.0)]
    limiter.throttled(0)
    assert limiter.spacing == pytest.approx(0.75)
    for _ in range(30):  # eases by a tenth per success, then stops spacing altogether
        limiter.succeeded()
    assert limiter.spacing == 0.0


def test_a_wait_longer_than_the_budget_fails_at_once() -> None:
    limiter = ProviderLimiter(1, spacing=0, max_spacing=0, clock=Clock(), sleep=lambda _: None)
    limiter.throttled(30)

    with pytest.raises(SlotUnavailable), limiter.slot(5):
        pass


# -- fallback through the call policy ------------------------------------------------------------


class Provider:
    """A fake SDK: models in `dead` fail with the given kind, the others answer their name."""

    def __init__(self, delay: float = 0.0, **dead: FailureKind) -> None:
        self.dead = dead
        self.delay = delay
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def operation(self, client: object, attempt: Attempt) -> str:
        self.calls.append((attempt.model, attempt.fallbacks))
        time.sleep(self.delay)
        kind = self.dead.get(attempt.model.replace("/", "_"))
        if kind is not None:
            raise Failure(ProviderFailure(kind, 503 if kind is FailureKind.SERVER_ERROR else 400))
        attempt.report(answered_by=attempt.model)
        return attempt.model


class Failure(Exception):
    def __init__(self, failure: ProviderFailure) -> None:
        self.failure = failure


class Connector:
    def get(self) -> object:
        return object()

    def reset(self) -> None:
        pass


@pytest.fixture
def call() -> Callable[..., str]:
    caller = ProviderCaller(
        "Fake",
        Connector(),
        lambda exc: exc.failure if isinstance(exc, Failure) else None,
        sleep=lambda _: None,
    )

    def run(provider: Provider, models: list[str], seconds: float = 28) -> str:
        with deadline_scope(Deadline.after(seconds)):
            return caller.call(provider.operation, models=models, name="op")

    return run


MODELS = ["a/primary", "b/second", "c/third"]


def test_a_model_that_keeps_failing_falls_back_to_the_next(call: Callable[..., str]) -> None:
    provider = Provider(a_primary=FailureKind.SERVER_ERROR)

    assert call(provider, MODELS) == "b/second"
    assert [model for model, _ in provider.calls] == ["a/primary"] * 3 + ["b/second"]
    assert provider.calls[0][1] == ("b/second", "c/third")  # what OpenRouter gets as `models`


def test_an_open_breaker_skips_the_model_without_calling_it(
    call: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "3")
    call(Provider(a_primary=FailureKind.SERVER_ERROR), MODELS)  # 3 failures: open
    provider = Provider()

    assert call(provider, MODELS) == "b/second"
    assert [model for model, _ in provider.calls] == ["b/second"]
    assert breaker_for("Fake", "a/primary").state() == OPEN


def test_when_every_breaker_is_open_the_answer_is_503_with_retry_after(
    call: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "1")
    dead = Provider(a_primary=FailureKind.SERVER_ERROR, b_second=FailureKind.SERVER_ERROR)
    with pytest.raises(CircuitOpenError):
        call(dead, MODELS[:2])  # each breaker opens on its first failure: no second attempt
    assert [model for model, _ in dead.calls] == ["a/primary", "b/second"]

    recovered = Provider()
    with pytest.raises(CircuitOpenError) as caught:
        call(recovered, MODELS[:2])
    assert caught.value.retry_after == 30
    assert recovered.calls == []


def test_a_request_the_provider_rejects_is_not_retried_elsewhere(call: Callable[..., str]) -> None:
    provider = Provider(a_primary=FailureKind.REJECTED)

    with pytest.raises(ProviderRequestRejectedError):
        call(provider, MODELS)
    assert len(provider.calls) == 1
    assert breaker_for("Fake", "a/primary").state() == CLOSED


def test_no_fallback_without_time_for_a_whole_attempt(call: Callable[..., str]) -> None:
    provider = Provider(delay=0.5, a_primary=FailureKind.SERVER_ERROR)

    with pytest.raises(ProviderUnavailableError):
        call(provider, MODELS, seconds=2.6)  # 1.5 s margin + 1 s minimum attempt: one attempt only
    assert [model for model, _ in provider.calls] == ["a/primary"]


# -- provider-wide outage versus one model's outage -----------------------------------------------


def test_a_provider_wide_burst_opens_the_provider_not_every_model(
    call: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "4")
    down = {name.replace("/", "_"): FailureKind.SERVER_ERROR for name in MODELS}
    dead = Provider(0.0, **down)
    with pytest.raises(ProviderCircuitOpenError) as caught:
        call(dead, MODELS)
    # a/primary 3 times, then b/second once: 4 failures of two models open the provider, and the
    # chain stops there (c/third is not tried).
    assert [model for model, _ in dead.calls] == ["a/primary"] * 3 + ["b/second"]
    assert caught.value.retry_after == 30
    assert provider_breaker_for("Fake").state() == OPEN
    assert [breaker_for("Fake", model).state() for model in MODELS] == [CLOSED] * 3

    # While the provider is open, nothing is called and the chain is not walked.
    recovered = Provider()
    with pytest.raises(ProviderCircuitOpenError):
        call(recovered, MODELS)
    assert recovered.calls == []


def test_after_a_provider_outage_one_probe_closes_it_for_every_model(
    call: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "4")
    down = {name.replace("/", "_"): FailureKind.SERVER_ERROR for name in MODELS}
    with contextlib.suppress(ProviderCircuitOpenError):
        call(Provider(0.0, **down), MODELS)
    provider = provider_breaker_for("Fake")
    assert provider.state() == OPEN
    provider._clock = lambda: time.time() + 31  # the cooldown has passed

    recovered = Provider()
    answers = [call(recovered, MODELS) for _ in range(5)]

    assert answers == ["a/primary"] * 5  # the primary model answers again at once
    assert provider.state() == CLOSED
    assert [breaker_for("Fake", model).state() for model in MODELS] == [CLOSED] * 3


def test_one_model_failing_alone_opens_only_its_breaker(
    call: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "3")
    for _ in range(3):
        assert call(Provider(a_primary=FailureKind.SERVER_ERROR), MODELS) == "b/second"

    assert breaker_for("Fake", "a/primary").state() == OPEN
    assert provider_breaker_for("Fake").state() == CLOSED
    provider = Provider()
    assert call(provider, MODELS) == "b/second"
    assert [model for model, _ in provider.calls] == ["b/second"]


def test_the_window_keeps_running_counts_equal_to_a_recount() -> None:
    rng = random.Random(15)
    window = OutcomeWindow(10)
    history: list[tuple[float, bool, str]] = []
    now = 0.0
    for _ in range(2000):
        now += rng.uniform(0, 0.5)
        failed, model = rng.random() < 0.4, rng.choice("xyz")
        window.add(now, failed, model)
        history.append((now, failed, model))
        live = [entry for entry in history if entry[0] >= now - 10]
        assert window.calls == len(live)
        assert window.failures == sum(1 for _, bad, _ in live if bad)
        assert window.failing_models() == {name for _, bad, name in live if bad}
