"""Paid parts kept for the next attempt of a request (contentgen.stores.partials) on moto's DynamoDB,
and the order a chunked story resumes in: whatever was kept, the resumed story is the one an
uninterrupted run writes, and only the parts after the kept prefix are asked again."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from contentgen.errors import ContentgenError, ProviderRateLimitedError
from contentgen.models.schema import Structured
from contentgen.models.stories import (
    CharacterSheet,
    ChunkedStoryRequest,
    ChunkPlan,
    ChunkReply,
    SegmentReply,
    StoryOutline,
    StoryReply,
)
from contentgen.services import stories
from contentgen.stores import partials
from contentgen.stores.partials import PaidParts, current_parts, paid_once, parts_item_id, request_parts
from local.aws import create_table_as_declared
from tests.conftest import log_records

OWNER = "/stories/segments/chunked"
ROUTE = "POST /stories/segments/chunked"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table_as_declared(dynamodb, "IdempotencyTable", "idempotency")
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        yield dynamodb


class Writer:
    """A stand-in for `generate_structured`: each reply is a function of its prompt and of this
    writer's `salt` (a model never writes the same text twice), and every reply is recorded
    under the prompt it answered. Raises a rate limit on call number `fail_at`."""

    def __init__(self, salt: str, fail_at: int | None = None) -> None:
        self.salt = salt
        self.fail_at = fail_at
        self.prompts: list[str] = []
        self.answers: dict[str, Structured[Any]] = {}

    def __call__(
        self, reply_type: type[Any], *, user: str, lengths: dict[str, int], **_: Any
    ) -> Structured[Any]:
        self.prompts.append(user)
        if len(self.prompts) == self.fail_at:
            raise ProviderRateLimitedError("rate limited", retry_after=40)
        tag = hashlib.sha256(f"{self.salt}{user}".encode()).hexdigest()[:10]
        if reply_type is StoryOutline:
            value: Any = StoryOutline(
                title=f"Title {tag}",
                logline="A keeper finds a map.",
                point_of_view="third person",
                tense="past tense",
                setting="a lighthouse",
                art_style="watercolour",
                characters=[CharacterSheet(name="Mara", look="red coat", role="keeper")],
                chunks=[ChunkPlan(summary=f"part {n} of {tag}") for n in range(lengths["chunks"])],
            )
        else:
            value = ChunkReply(
                segments=[
                    SegmentReply(text=f"Beat {n} of {tag}.", visual_prompt=f"Shot {n} of {tag}")
                    for n in range(lengths["segments"])
                ],
                story_so_far=f"So far: {tag}",
            )
        self.answers[user] = Structured(value=value, model="test/model")
        return self.answers[user]


class Replay:
    """Answers each prompt with the reply a writer gave it; a prompt never answered fails."""

    def __init__(self, *writers: Writer) -> None:
        self.answers = {prompt: reply for writer in writers for prompt, reply in writer.answers.items()}

    def __call__(self, reply_type: type[Any], *, user: str, **_: Any) -> Structured[Any]:
        if user not in self.answers:
            pytest.fail("the resumed story holds a part that does not follow from the parts before it")
        return self.answers[user]


def remove_parts(dynamodb: Any, item_id: str, names: list[str]) -> None:
    """Forget kept parts, as if their writes had failed."""
    if names:
        dynamodb.update_item(
            TableName="idempotency",
            Key={"id": {"S": item_id}},
            UpdateExpression="REMOVE " + ", ".join(f"#n{i}" for i in range(len(names))),
            ExpressionAttributeNames={f"#n{i}": f"p_{name}" for i, name in enumerate(names)},
        )


@pytest.mark.slow  # 40 generated stories
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.integers(2, 5), data=st.data())
def test_a_chunked_story_resumes_from_its_kept_prefix_into_one_continuous_story(
    table: Any, monkeypatch: pytest.MonkeyPatch, chunks: int, data: st.DataObject
) -> None:
    """Attempt 1 fails on call `fail_at` (1 = the outline) after paying the parts before it; some
    of those writes are lost. Attempt 2 reuses exactly the kept parts before the first gap and
    writes the rest, and the story it returns is the one an uninterrupted run gives when the
    model answers each prompt as it did: every part follows from the parts before it."""
    request = ChunkedStoryRequest(prompt="A keeper finds a map", segment_count=chunks * 2, chunk_size=2)
    names = ["outline"] + [f"chunk_{n}" for n in range(1, chunks + 1)]
    fail_at = data.draw(st.integers(1, chunks + 1), label="fail_at")
    paid = names[: fail_at - 1]
    lost = data.draw(st.lists(st.sampled_from(paid), unique=True) if paid else st.just([]), label="lost")
    key = uuid.uuid4().hex
    body = request.model_dump(mode="json")

    first = Writer("first", fail_at=fail_at)
    monkeypatch.setattr(stories, "generate_structured", first)
    with request_parts(owner=OWNER, route=ROUTE, key=key, request=body), pytest.raises(ContentgenError):
        stories.generate_chunked_story(request)
    remove_parts(table, parts_item_id(owner=OWNER, route=ROUTE, key=key, request=body), lost)
    again = Writer("again")
    monkeypatch.setattr(stories, "generate_structured", again)
    with request_parts(owner=OWNER, route=ROUTE, key=key, request=body) as parts:
        resumed = stories.generate_chunked_story(request)

    prefix = next((n for n, name in enumerate(paid) if name in lost), len(paid))
    assert parts.reused == paid[:prefix], "the kept parts before the first gap, in order"
    assert len(again.prompts) == len(names) - prefix, "every other part asked once"
    monkeypatch.setattr(stories, "generate_structured", Replay(first, again))
    assert stories.generate_chunked_story(request) == resumed, "one continuous story"


def test_parts_are_reused_only_by_the_same_route_key_and_request(table: Any) -> None:
    body = {"prompt": "x", "set_count": 2, "segments_per_set": 2}
    same = parts_item_id(
        owner="/stories/segments/sets", route="POST /stories/segments/sets", key="k", request=body
    )
    reordered = dict(reversed(list(body.items())))

    assert same.startswith("stories/segments/sets#parts#"), "under the function's own leading key"
    assert same == parts_item_id(
        owner="/stories/segments/sets", route="POST /stories/segments/sets", key="k", request=reordered
    )
    assert same != parts_item_id(
        owner="/stories/segments/sets", route="POST /stories/segments/sets", key="k2", request=body
    )
    assert same != parts_item_id(
        owner="/stories/segments/sets",
        route="POST /stories/segments/sets",
        key="k",
        request={**body, "set_count": 3},
    )


def _story(title: str) -> Structured[StoryReply]:
    reply = StoryReply(title=title, segments=[SegmentReply(text="A beat.", visual_prompt="A shot")])
    return Structured(value=reply, model="test/model")


def test_a_part_is_kept_with_the_ttl_and_read_once_per_attempt(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "3600")
    with request_parts(owner=OWNER, route=ROUTE, key="k1", request={}) as first:
        paid_once("set_1", StoryReply, lambda: _story("One"))
    item = table.get_item(TableName="idempotency", Key={"id": {"S": str(first.item_id)}})["Item"]
    assert abs(int(item["expiration"]["N"]) - (time.time() + 3600)) < 60
    assert set(item) == {"id", "p_set_1", "expiration"}

    reads: list[str] = []
    real_get_item = table.get_item

    def get_item(**request: Any) -> Any:
        reads.append(request["Key"]["id"]["S"])
        return real_get_item(**request)

    monkeypatch.setattr(partials_client(), "get_item", get_item)
    with request_parts(owner=OWNER, route=ROUTE, key="k1", request={}) as second:
        one, reused_one = paid_once("set_1", StoryReply, lambda: pytest.fail("set 1 was paid"))
        two, reused_two = paid_once("set_2", StoryReply, lambda: _story("Two"))
        paid_once("set_2", StoryReply, lambda: pytest.fail("set 2 was paid"))

    assert (one.value.title, one.model, reused_one) == ("One", "test/model", True)
    assert (two.value.title, reused_two) == ("Two", False)
    assert reads == [second.item_id], "one read per attempt"


def partials_client() -> Any:
    from contentgen.clients.aws import get_dynamodb_client

    return get_dynamodb_client()


def test_expired_parts_are_ignored(table: Any) -> None:
    with request_parts(owner=OWNER, route=ROUTE, key="old", request={}) as parts:
        paid_once("set_1", StoryReply, lambda: _story("Old"))
    table.update_item(
        TableName="idempotency",
        Key={"id": {"S": str(parts.item_id)}},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    with request_parts(owner=OWNER, route=ROUTE, key="old", request={}):
        reply, reused = paid_once("set_1", StoryReply, lambda: _story("New"))

    assert (reply.value.title, reused) == ("New", False)


def test_a_store_that_fails_never_fails_the_request(
    table: Any, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    def refuse(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "UpdateItem")

    client = partials_client()
    monkeypatch.setattr(client, "get_item", refuse)
    monkeypatch.setattr(client, "update_item", refuse)
    with request_parts(owner=OWNER, route=ROUTE, key="k", request={}):
        reply, reused = paid_once("set_1", StoryReply, lambda: _story("Paid"))

    assert (reply.value.title, reused) == ("Paid", False)
    messages = [record["message"] for record in log_records(log_output)]
    assert "paid parts not read; parts are asked again" in messages
    assert "paid part set_1 not kept" in messages


def test_outside_a_request_scope_nothing_is_read_or_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    assert not current_parts().enabled
    reply, reused = paid_once("set_1", StoryReply, lambda: _story("Alone"))
    assert (reply.value.title, reused) == ("Alone", False)
    assert PaidParts().reuse("set_1", StoryReply) is None
    assert partials.current_parts().reused == []


def test_a_request_with_a_lone_surrogate_has_parts_too(table: Any) -> None:
    """JSON lets a string hold a lone surrogate (`"\\ud800"`); it is hashed, not a UnicodeEncodeError."""
    body = {"prompt": "\ud800 lone surrogate", "set_count": 2, "segments_per_set": 1}
    with request_parts(owner=OWNER, route=ROUTE, key="\udfff", request=body):
        paid_once("set_1", StoryReply, lambda: _story("Title"))
    with request_parts(owner=OWNER, route=ROUTE, key="\udfff", request=body):
        reply, reused = paid_once("set_1", StoryReply, lambda: pytest.fail("set 1 was paid"))
    assert (reply.value.title, reused) == ("Title", True)
