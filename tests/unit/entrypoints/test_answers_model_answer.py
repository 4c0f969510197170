"""`answers.ModelAnswer`: an answer kept as its model from response validation to the spend
middleware, then written as JSON once by pydantic. The text must carry the JSON value Powertools'
path wrote (pydantic's dump to Python, `usage` set in the dict, `json.dumps` with Powertools'
encoder), in the same key order, characters outside ASCII escaped as before."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.typing import LambdaContext
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from contentgen.entrypoints.answers import ModelAnswer, json_text
from contentgen.entrypoints.api import create_app
from contentgen.models.usage import Usage, usage_field

_powertools_serializer = partial(json.dumps, separators=(",", ":"), cls=Encoder)


class Item(BaseModel):
    text: str
    weight: float


class Answer(BaseModel):
    title: str
    items: list[Item]
    score: float | None = None
    usage: Usage | None = usage_field()


class NoUsageField(BaseModel):
    title: str


def _pairs(text: str) -> list[Any]:
    """The JSON value with every object as its list of (key, value) pairs: key order compared too."""
    return json.loads(text, object_pairs_hook=list)  # type: ignore[no-any-return]


_texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_floats = st.floats(allow_nan=False, allow_infinity=False)
# What the meter can hold: the SDK does not validate a reply's `usage` (`construct`), so a provider's
# odd count (a float, a string) reaches it as it came, and is answered so.
_counts = st.none() | st.integers(0, 10**9) | _floats | _texts
_usages = st.none() | st.fixed_dictionaries(
    {
        "model": st.none() | _texts | st.integers(),
        "prompt_tokens": _counts,
        "completion_tokens": _counts,
        "provider_requests": st.integers(0, 100),
        "cost_usd": st.none() | _floats,
    }
)


@settings(max_examples=300, deadline=None)
@given(
    title=_texts,
    items=st.lists(st.builds(Item, text=_texts, weight=_floats), max_size=4),
    score=st.none() | _floats,
    usage=_usages,
)
def test_the_text_carries_what_powertools_path_wrote(
    title: str, items: list[Item], score: float | None, usage: dict[str, Any] | None
) -> None:
    if usage is not None:  # in the meter's order (`Meter.as_usage`)
        usage = {key: usage[key] for key in Usage.model_fields}
    model = Answer(title=title, items=items, score=score)
    before = model.model_dump(mode="json", by_alias=True)  # Powertools' `field.serialize`
    if usage is not None:
        before["usage"] = usage  # the spend middleware's `_with_usage` on that dict
    answer = ModelAnswer(model)
    answer.usage = usage

    text = answer.json_text()

    assert _pairs(text) == _pairs(_powertools_serializer(before))
    assert text.isascii()
    assert model.usage is None  # the service's instance is left as it was


def test_a_model_without_a_usage_field_still_answers_usage() -> None:
    answer = ModelAnswer(NoUsageField(title="é"))
    answer.usage = {
        "model": "m",
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "provider_requests": 1,
        "cost_usd": 0.5,
    }

    assert json.loads(answer.json_text()) == {"title": "é", "usage": answer.usage}


def test_what_pydantic_cannot_write_as_utf8_is_written_as_before() -> None:
    # A lone surrogate (e.g. from `"\\ud800"` in JSON): `json.dumps` escapes it, pydantic refuses it.
    model = Answer.model_construct(title="\ud800x", items=[], score=None, usage=None)
    answer = ModelAnswer(model)
    answer.usage = {
        "model": "m",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "provider_requests": 1,
        "cost_usd": 0.1,
    }

    assert answer.json_text() == _powertools_serializer(
        {"title": "\ud800x", "items": [], "score": None, "usage": answer.usage}
    )


def test_text_outside_ascii_is_escaped_as_before() -> None:
    # `Content-Type: application/json` names no charset; an ASCII body cannot be misread.
    assert ModelAnswer(NoUsageField(title="forêt 狐")).json_text() == '{"title":"for\\u00eat \\u72d0"}'
    answer = ModelAnswer(Answer(title="狐", items=[]))
    answer.usage = {
        "model": "é",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "provider_requests": 1,
        "cost_usd": 0.1,
    }
    assert answer.json_text().isascii()
    # DEL is ASCII: written as it is (json.dumps escaped it); the value is the same.
    assert ModelAnswer(NoUsageField(title="a\x7fb")).json_text() == '{"title":"a\x7fb"}'


def test_the_serializer_writes_a_model_answer_and_anything_else_as_powertools() -> None:
    assert json_text(ModelAnswer(NoUsageField(title="t"))) == '{"title":"t"}'
    value = {"a": [1, 2.5, "é", None], "b": {"c": True}}
    assert json_text(value) == _powertools_serializer(value)


class Unwritable(BaseModel):
    value: Any


def test_an_answer_that_cannot_be_written_is_a_mapped_500_not_an_escaping_error(
    lambda_context: LambdaContext,
) -> None:
    app = create_app()

    @app.get("/x")
    def route() -> Unwritable:
        return Unwritable(value=object())  # pydantic cannot write it as JSON

    answer = app.resolve(
        {
            "httpMethod": "GET",
            "path": "/x",
            "resource": "/x",
            "headers": {},
            "multiValueHeaders": {},
            "requestContext": {"requestId": "r", "stage": "prod", "identity": {}},
            "body": None,
            "isBase64Encoded": False,
        },
        lambda_context,
    )

    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["code"] == "internal_error"
