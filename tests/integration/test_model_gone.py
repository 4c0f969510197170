"""A model its provider no longer serves ("model gone") over the wire: the real SDKs talk to the
emulator, which answers a retired model with the provider's real 404 (or OpenRouter's 400 for an
id it does not know). The call moves to the next model of the chain at once, the container
remembers the model (it is asked ONCE across requests), and a job whose check meets it fails at
once in the provider's words. Also: each request carries only the parameters its model accepts
(the emulator's `strict_parameters` is on)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contentgen.catalog import default_chain, find_model, successor
from contentgen.config import get_settings
from contentgen.generation import videos as video_generation
from contentgen.services import videos as video_service
from tests.conftest import log_records
from tests.durable_jobs import RunnerStarter, handler, running
from tests.integration import test_video_jobs as video_jobs
from tests.integration.conftest import Invoke, Stack
from tests.integration.test_resilience import emf
from tests.integration.test_video_jobs import Api, finish

pytestmark = pytest.mark.integration

THUMBNAIL = "GenerateThumbnailFunction"
IMAGE, IMAGE_FALLBACK = default_chain("image")[:2]
VEO, VEO_FALLBACK = default_chain("video")[:2]
OMNI, OMNI_FALLBACK = default_chain("video_gemini_api")[:2]
TEXT = default_chain("text")[0]


def asked(stack: Stack, model: str) -> int:
    """How many provider requests named `model` (path or body)."""
    count = 0
    for request in stack.provider.requests():
        body = request["body"] if isinstance(request["body"], dict) else {}
        if f"/models/{model}:" in request["path"] or body.get("model") == model:
            count += 1
    return count


@pytest.fixture
def video_api(stack: Stack, api_event: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Api:
    """The API function called as API Gateway would (`test_video_jobs.Api`)."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    return Api(api_event)


@pytest.fixture
def video_runs(video_api: Api) -> Iterator[RunnerStarter]:
    """The durable video job run by the testing SDK's runner for each start."""
    with running(handler(video_jobs.JOB)) as starter:
        yield starter


@pytest.mark.parametrize("vertex", ["true", "false"], ids=["vertex-ai", "gemini-api"])
def test_a_retired_primary_image_model_is_asked_once_and_the_fallback_answers(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    log_output: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    vertex: str,
) -> None:
    """The template's image chain with its primary retired: 200 from the fallback on both Google
    backends, the retired model asked ONCE across two requests of one container, one warning
    naming it and its catalog successor, and a `ModelUnavailable` count for each request that met
    it: the one that found it and the one that skipped it (remembered), so that the alarm stays in
    ALARM while requests are served by the fallback (tests/unit/test_template.py)."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", vertex)
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    stack.provider.configure(retired=[IMAGE])

    answers = [invoke(THUMBNAIL, {"prompt": f"A fox in a lighthouse, take {n}"}) for n in (1, 2)]

    assert [status for status, _ in answers] == [200, 200], answers
    assert [answer["model"] for _, answer in answers] == [IMAGE_FALLBACK, IMAGE_FALLBACK]
    assert asked(stack, IMAGE) == 1, "the retired model is asked once per container"
    assert asked(stack, IMAGE_FALLBACK) == 2
    warnings = [r for r in log_records(log_output) if r["message"] == "model unavailable"]
    assert len(warnings) == 1, "one warning per model and container"
    assert warnings[0]["model"] == IMAGE
    assert warnings[0]["successor"] == (successor(IMAGE) or "none in the catalog")
    counted = [blob for blob in emf(capsys.readouterr().out) if "ModelUnavailable" in blob]
    assert [(blob["model"], blob["ModelUnavailable"]) for blob in counted] == [(IMAGE, [1.0]), (IMAGE, [1.0])]


def test_every_model_of_the_chain_gone_is_502_model_unavailable_quoting_google(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    stack.provider.configure(retired=[IMAGE, IMAGE_FALLBACK])

    status, answer = invoke(THUMBNAIL, {"prompt": "x"})
    again = invoke(THUMBNAIL, {"prompt": "y"})

    assert status == 502, answer
    assert answer["code"] == "model_unavailable"
    assert "Publisher Model" in answer["message"]
    assert again[0] == 502
    assert again[1]["code"] == "model_unavailable"
    # A chain the container remembers wholly gone is asked again (a preference, not a ban: probe21,
    # tests/integration/test_probe21_gone_memory_outage.py): each request asks each model once.
    starts = [r for r in stack.provider.requests() if r["path"].endswith(":generateContent")]
    assert len(starts) == 4, "each model asked once per request, none retried"


@pytest.mark.parametrize(
    ("vertex", "primary", "fallback"),
    [("true", VEO, VEO_FALLBACK), ("false", OMNI, OMNI_FALLBACK)],
    ids=["vertex-ai-veo", "gemini-api-omni"],
)
def test_a_retired_primary_video_model_starts_on_the_fallback_and_is_asked_once(
    stack: Stack,
    video_api: Api,
    video_runs: RunnerStarter,
    monkeypatch: pytest.MonkeyPatch,
    vertex: str,
    primary: str,
    fallback: str,
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", vertex)
    monkeypatch.setenv("VIDEO_MODEL", primary)
    monkeypatch.setenv("VIDEO_FALLBACK_MODELS", fallback)
    stack.provider.configure(retired=[primary], video_polls=1)

    accepted = []
    for n in (1, 2):  # one after the other, as two requests of one container
        accepted.append(video_api.start(prompt=f"A paper boat, take {n}", duration_seconds=6))
        finish(video_runs)

    assert asked(stack, primary) == 1, "the retired model is asked once per container"
    assert asked(stack, fallback) >= 2
    for job in accepted:
        status = video_api.status(job["job_id"])[1]
        assert status["status"] == "succeeded", status
        assert status["usage"]["model"] == fallback


def test_a_check_that_finds_the_model_gone_fails_the_job_at_once_in_googles_words(
    stack: Stack, video_api: Api, video_runs: RunnerStarter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    stack.provider.configure(video_polls=3)
    real_check = video_generation.check_video
    retired: list[bool] = []

    def retire_then_check(operation_name: str, *, model: str) -> Any:
        if not retired:  # retired while the job runs: after the start, before its first check
            stack.provider.configure(retired=[VEO], video_polls=3)
            retired.append(True)
        return real_check(operation_name, model=model)

    monkeypatch.setattr(video_service, "check_video", retire_then_check)

    accepted = video_api.start(prompt="A paper boat", duration_seconds=6)
    finish(video_runs)

    job = video_api.status(accepted["job_id"])[1]
    assert (job["status"], job["error_code"]) == ("failed", "model_unavailable"), job
    assert "Publisher Model" in job["error"]
    assert VEO in job["error"]
    assert job["usage"]["cost_usd"] is not None, "the start was paid: it stays charged"
    checks = [r for r in stack.provider.requests() if r["path"].endswith(":fetchPredictOperation")]
    assert len(checks) == 1, "not checked again"


def test_an_id_the_catalog_does_not_know_is_never_sent(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id the catalog does not list has no price, so no reservation bounds it
    (`contentgen.billing.prices.priced_chain`, docs/spend.md): it is left out of the chain before
    OpenRouter could refuse the whole request for it (400 "X is not a valid model ID")."""
    unknown = "acme/withdrawn-model-1"
    assert find_model(unknown) is None
    monkeypatch.setenv("TEXT_FALLBACK_MODELS", unknown)
    body: dict[str, Any] = {"prompt": "A lighthouse keeper", "segment_count": 2}

    answers = [invoke("StorySegmentsFunction", body) for _ in range(2)]

    assert [status for status, _ in answers] == [200, 200], answers
    chains = [r["body"].get("models") for r in stack.provider.requests()]
    assert chains == [None, None], "the unknown id is never sent"


def test_each_chat_request_carries_only_what_its_models_accept(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default text model takes no `temperature` (the catalog): none is sent, so OpenRouter's
    parameter check (the emulator's `strict_parameters`, on) serves it; a model that takes it gets it."""
    entry = find_model(TEXT)
    assert entry is not None
    assert not entry.accepts("temperature")
    body = {"prompt": "A lighthouse keeper", "segment_count": 2}

    status, answer = invoke("StorySegmentsFunction", body)
    assert status == 200, answer
    sent = stack.provider.requests()[-1]["body"]
    assert "temperature" not in sent

    takes_it = default_chain("text")[-1]  # the 2nd (a Gemini 3) takes no sampling parameters either
    taker = find_model(takes_it)
    assert taker is not None
    assert taker.accepts("temperature")
    monkeypatch.setenv("TEXT_MODEL", takes_it)
    get_settings.cache_clear()  # a new configuration: a new container
    status, answer = invoke("StorySegmentsFunction", body)
    assert status == 200, answer
    assert "temperature" in stack.provider.requests()[-1]["body"]
