from __future__ import annotations

import io
import json
from typing import Any

import pytest

from contentgen.core.retry import Attempt
from contentgen.errors import ModelOutputError
from contentgen.generation import structured
from contentgen.generation.completions import ChatResult
from contentgen.generation.structured import generate_structured
from contentgen.models.schema import Structured, strict_json_schema
from contentgen.models.stories import StoryReply
from contentgen.observability import AttemptRecord, record_attempt
from tests.conftest import log_records


def story(count: int) -> str:
    return json.dumps(
        {
            "title": "The Keeper",
            "segments": [
                {"text": f"Beat {i}.", "visual_prompt": f"Shot {i}, vertical"} for i in range(count)
            ],
        }
    )


class FakeModel:
    """Stands in at the connector boundary: scripted replies, recorded requests."""

    def __init__(self, *replies: str, finish_reason: str = "stop") -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.finish_reason = finish_reason

    def __call__(self, messages: list[dict[str, Any]], **options: Any) -> ChatResult:
        review = options.pop("review", None)
        self.requests.append({"messages": list(messages), **options})
        content = self.replies.pop(0)
        result = ChatResult(content, options["models"][0], self.finish_reason, 10, 20, 0.0001)
        # As the call policy does with an answered request: reviewed, then its record written.
        record = AttemptRecord(
            provider="OpenRouter", operation="chat.completions", model=result.model, attempt=1
        )
        try:
            if review is not None:
                review(result, Attempt(result.model, (), 20.0, record))
        finally:
            record_attempt(record)
        return result


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    model = FakeModel()
    monkeypatch.setattr(structured, "complete_chat", model)
    return model


def ask(count: int = 3) -> Structured[StoryReply]:
    return generate_structured(
        StoryReply, system="system", user="user", models=["test/model"], lengths={"segments": count}
    )


def test_valid_reply_is_returned_after_one_call(fake: FakeModel) -> None:
    fake.replies = [story(3)]

    result = ask(3)

    assert len(result.value.segments) == 3
    assert result.model == "test/model"
    assert len(fake.requests) == 1


def test_request_asks_for_strict_json_schema_with_pinned_length(fake: FakeModel) -> None:
    fake.replies = [story(4)]

    ask(4)

    response_format = fake.requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    segments = schema["properties"]["segments"]
    assert segments["minItems"] == segments["maxItems"] == 4
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"title", "segments"}


@pytest.mark.parametrize("bad", ["not json at all", story(2), "```json\n" + story(5) + "\n```"])
def test_malformed_or_wrong_size_once_is_reasked_with_the_problem(fake: FakeModel, bad: str) -> None:
    fake.replies = [bad, story(3)]

    result = ask(3)

    assert len(result.value.segments) == 3
    assert len(fake.requests) == 2
    reask = fake.requests[1]["messages"]
    assert reask[-2] == {"role": "assistant", "content": bad}
    assert "could not be used" in reask[-1]["content"]


def test_fenced_json_of_the_right_size_is_accepted(fake: FakeModel) -> None:
    fake.replies = ["```json\n" + story(3) + "\n```"]

    assert len(ask(3).value.segments) == 3


def test_wrong_size_problem_names_the_counts(fake: FakeModel) -> None:
    fake.replies = [story(2), story(3)]

    ask(3)

    assert "expected exactly 3 items, got 2" in fake.requests[1]["messages"][-1]["content"]


def test_malformed_twice_raises_a_502_error(fake: FakeModel) -> None:
    fake.replies = ["{", '{"title": 1}']

    with pytest.raises(ModelOutputError) as caught:
        ask(3)

    assert caught.value.status_code == 502
    assert len(fake.requests) == 2


def test_a_reply_cut_at_the_token_limit_says_so_and_names_max_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    cut = story(3)[:40]
    model = FakeModel(cut, cut, finish_reason="length")
    monkeypatch.setattr(structured, "complete_chat", model)

    with pytest.raises(ModelOutputError) as caught:
        generate_structured(
            StoryReply,
            system="s",
            user="u",
            models=["test/model"],
            lengths={"segments": 3},
            max_tokens=300,
        )

    assert caught.value.status_code == 502
    assert "cut off at the token limit" in caught.value.message
    assert "max_tokens=300" in caught.value.message
    assert "max_tokens=300" in model.requests[1]["messages"][-1]["content"], "the re-ask names it too"


def test_a_cut_reply_without_max_tokens_still_names_max_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeModel("{", "{", finish_reason="length")
    monkeypatch.setattr(structured, "complete_chat", model)

    with pytest.raises(ModelOutputError, match="max_tokens"):
        ask(3)


def test_a_complete_reply_at_the_token_limit_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeModel(story(3), finish_reason="length")
    monkeypatch.setattr(structured, "complete_chat", model)

    assert len(ask(3).value.segments) == 3
    assert len(model.requests) == 1


@pytest.mark.parametrize(
    "wrapped",
    [
        "Here is your story:\n" + story(3) + "\nEnjoy!",
        "Sure! ```json\n" + story(3) + "\n``` Let me know if you want changes.",
        "```\n" + story(3) + "\n```",
        'An example first: {"title": "x"}. The answer: ' + story(3),
        "Draft: " + story(2) + " Final: " + story(3),
    ],
)
def test_json_in_prose_or_a_fence_is_taken_from_the_first_reply(fake: FakeModel, wrapped: str) -> None:
    fake.replies = [wrapped]

    assert len(ask(3).value.segments) == 3
    assert len(fake.requests) == 1


def test_prose_without_a_usable_object_names_the_first_objects_problem(fake: FakeModel) -> None:
    fake.replies = ["Here: " + story(2) + " done", story(3)]

    ask(3)

    assert "expected exactly 3 items, got 2" in fake.requests[1]["messages"][-1]["content"]


def test_broken_json_is_named_as_such_not_by_an_object_inside_it(fake: FakeModel) -> None:
    fake.replies = [story(3)[:-3], story(3)]

    ask(3)

    assert "not valid JSON" in fake.requests[1]["messages"][-1]["content"]


def test_strings_over_their_soft_limit_are_trimmed_and_named_on_the_requests_own_line_and_blob(
    fake: FakeModel, capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    long_text = " ".join(["word"] * 150)  # 749 characters; the limit is 400
    fake.replies = [json.dumps({"title": "T", "segments": [{"text": long_text, "visual_prompt": "v"}] * 2})]

    result = ask(2)

    assert len(fake.requests) == 1
    assert all(
        len(segment.text) <= 400 and segment.text.endswith("word") for segment in result.value.segments
    )
    (line,) = [r for r in log_records(log_output) if r["message"] == "provider call"]
    assert line["level"] == "WARNING"
    assert line["schema"] == "StoryReply"
    assert line["trimmed"][0] == {"field": "SegmentReply.text", "limit": 400, "original_chars": 749}
    blobs = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ProviderRequests"' in line
    ]
    assert [(blob["ProviderRequests"], blob.get("SoftLimitTrimmed")) for blob in blobs] == [([1.0], [2.0])]


def test_a_reply_within_its_limits_is_a_plain_info_line_and_counts_nothing_soft(
    fake: FakeModel, capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    fake.replies = [story(2)]

    ask(2)

    (line,) = [r for r in log_records(log_output) if r["message"] == "provider call"]
    assert line["level"] == "INFO"
    assert "trimmed" not in line
    assert "problems" not in line
    assert "Soft" not in capsys.readouterr().out


def test_a_bug_in_parsing_is_raised_not_re_asked_and_the_paid_request_keeps_its_line(
    fake: FakeModel, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in parsing")

    monkeypatch.setattr(structured, "parse_reply", broken)
    fake.replies = [story(2)]

    with pytest.raises(ZeroDivisionError):
        ask(2)

    assert len(fake.requests) == 1
    assert [r["message"] for r in log_records(log_output)].count("provider call") == 1


def test_schema_is_strict_everywhere() -> None:
    schema = strict_json_schema(StoryReply, {"segments": 2})
    segment = schema["$defs"]["SegmentReply"]

    assert segment["additionalProperties"] is False
    assert set(segment["required"]) == {"text", "visual_prompt"}
    assert "maxLength" not in json.dumps(schema)
    assert "minLength" not in json.dumps(schema)
    assert segment["properties"]["text"]["description"].endswith("(at most 400 characters)")
    assert segment["properties"]["text"]["pattern"] == r"\S", (
        "non-empty travels as a pattern strict mode supports"
    )
    assert "minItems" not in json.dumps(strict_json_schema(StoryReply)), "base schema is not mutated"


def test_length_problems_name_every_wrong_array_at_any_depth() -> None:
    from contentgen.models.schema import length_problems

    reply = {
        "segments": [1, 2],
        "acts": [{"beats": [1]}, {"beats": [1, 2, 3], "segments": []}],
        "": {"beats": []},
    }
    assert length_problems(reply, {"segments": 3, "beats": 2}) == [
        "segments: expected exactly 3 items, got 2",
        "acts[0].beats: expected exactly 2 items, got 1",
        "acts[1].beats: expected exactly 2 items, got 3",
        "acts[1].segments: expected exactly 3 items, got 0",
        "beats: expected exactly 2 items, got 0",
    ]
    assert length_problems([{"beats": []}], {"beats": 1}, "reply") == [
        "reply[0].beats: expected exactly 1 items, got 0"
    ]
    assert length_problems({"segments": [1, 2, 3]}, {"segments": 3}) == []
