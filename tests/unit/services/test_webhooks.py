"""Standard Webhooks signing and one delivery attempt (contentgen.services.webhooks)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from contentgen.connectors import fetch_guard
from contentgen.services import webhooks
from contentgen.services.webhooks import PostResult, attempt_delivery, sign, signing_key, verify

# The specification's published test vector (github.com/standard-webhooks/standard-webhooks,
# reproduced by its reference libraries' tests; read 2026-12-06).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_matches_the_specifications_test_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TS),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    assert verify(VECTOR_SECRET, headers, VECTOR_BODY)
    assert not verify(VECTOR_SECRET, headers, VECTOR_BODY.replace(b"2", b"3"))
    assert not verify(VECTOR_SECRET, {**headers, "webhook-timestamp": str(VECTOR_TS + 1)}, VECTOR_BODY)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()])
def test_a_secret_that_is_not_whsec_base64_of_24_bytes_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        signing_key(secret)


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes, dict[str, str]]]]:
    monkeypatch.setenv("WEBHOOK_SECRET", VECTOR_SECRET)
    monkeypatch.delenv("WEBHOOK_SECRET_PARAM", raising=False)
    seen: list[tuple[str, bytes, dict[str, str]]] = []
    statuses = iter([503, 410, 204, 302])

    def poster(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
        seen.append((url, body, headers))
        return PostResult(next(statuses), retry_after=7 if not seen[1:] else None)

    webhooks.set_webhook_poster(poster)
    yield seen
    webhooks.set_webhook_poster(None)


def test_attempts_sign_each_try_with_its_own_timestamp_and_the_same_id(
    posted: list[tuple[str, bytes, dict[str, str]]],
) -> None:
    body = json.dumps({"type": "short.succeeded"})
    first = attempt_delivery("https://hooks.example.com/x", "msg_a", body, 1000.0)
    assert first == {"delivered": False, "final": False, "status": 503, "error": "HTTP 503", "retry_after": 7}
    gone = attempt_delivery("https://hooks.example.com/x", "msg_a", body, 1060.0)
    assert (gone["delivered"], gone["final"]) == (False, True)  # 410 Gone: no more retries
    ok = attempt_delivery("https://hooks.example.com/x", "msg_a", body, 1120.0)
    assert (ok["delivered"], ok["final"]) == (True, True)
    redirect = attempt_delivery("https://hooks.example.com/x", "msg_a", body, 1180.0)
    assert (redirect["delivered"], redirect["final"]) == (False, False)  # 3xx is a failure
    stamps = [headers["webhook-timestamp"] for _, _, headers in posted]
    assert stamps == ["1000", "1060", "1120", "1180"]
    for _, sent, headers in posted:
        assert headers["webhook-id"] == "msg_a"
        assert verify(VECTOR_SECRET, headers, sent)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://169.254.169.254/latest",
        "https://localhost/x",
    ],
)
def test_a_non_public_url_is_never_posted_to(posted: list[object], url: str) -> None:
    outcome = attempt_delivery(url, "msg_a", "{}", 1000.0)
    assert (outcome["delivered"], outcome["final"]) == (False, True)
    assert outcome["error"].startswith("callback_url refused")
    assert posted == []


@pytest.mark.parametrize("url", ["https://127.0.0.1.nip.io/hook", "https://hooks.localtest.me/hook"])
def test_a_name_that_resolves_to_a_non_public_address_is_never_posted_to(
    posted: list[object], url: str
) -> None:
    """The name is public in spelling; its DNS answer is not (fetch_guard): refused, final."""
    outcome = attempt_delivery(url, "msg_a", "{}", 1000.0)
    assert (outcome["delivered"], outcome["final"]) == (False, True)
    assert outcome["error"].startswith("callback_url refused")
    assert "non-public" in outcome["error"]
    assert posted == []


def test_dns_that_changes_after_the_request_is_checked_again_at_send_time(
    posted: list[tuple[str, bytes, dict[str, str]]],
) -> None:
    """Accepted while public, the host then resolves to the metadata address (rebinding): the
    attempt is refused and nothing is sent; a host that stops resolving is retried."""
    answers = {"hooks.example.com": ["93.184.215.14"]}

    def resolver(name: str) -> list[str]:
        if name not in answers:
            raise OSError(f"{name} does not resolve")
        return answers[name]

    fetch_guard.set_resolver(resolver)
    first = attempt_delivery("https://hooks.example.com/x", "msg_a", "{}", 1000.0)
    assert first["status"] == 503
    assert len(posted) == 1
    answers["hooks.example.com"] = ["169.254.169.254"]
    rebound = attempt_delivery("https://hooks.example.com/x", "msg_a", "{}", 1060.0)
    assert (rebound["delivered"], rebound["final"], rebound["status"]) == (False, True, None)
    assert "169.254.169.254" in rebound["error"]
    del answers["hooks.example.com"]
    gone = attempt_delivery("https://hooks.example.com/x", "msg_a", "{}", 1120.0)
    assert (gone["delivered"], gone["final"]) == (False, False)  # retried later
    assert len(posted) == 1  # only the attempt made while the host was public
