"""Response validation (`api._ResponseValidation`): an instance of the route's model is not
validated again only where that validation would hand it back unchanged; a model whose own
validators (or `revalidate_instances`) would still check an instance gets Powertools' validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, model_validator

from contentgen.entrypoints.api import create_app


class Plain(BaseModel):
    count: int


class Checked(BaseModel):
    count: int

    @model_validator(mode="after")
    def _not_negative(self) -> Checked:
        if self.count < 0:
            raise ValueError("negative")
        return self


class Revalidated(BaseModel):
    model_config = ConfigDict(revalidate_instances="always")
    count: int


def _event() -> dict[str, Any]:
    return {
        "httpMethod": "GET",
        "path": "/x",
        "resource": "/x",
        "headers": {},
        "multiValueHeaders": {},
        "requestContext": {"requestId": "r", "stage": "prod", "identity": {}},
        "body": None,
        "isBase64Encoded": False,
        "queryStringParameters": None,
        "pathParameters": None,
    }


def test_an_instance_of_a_plain_model_is_answered_as_serialised(lambda_context: LambdaContext) -> None:
    app = create_app()

    @app.get("/x")
    def route() -> Plain:
        return Plain(count=3)

    answer = app.resolve(_event(), lambda_context)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"count": 3}


@pytest.mark.parametrize("model", [Checked, Revalidated])
def test_a_model_that_checks_its_instances_is_still_validated(
    model: type[BaseModel], lambda_context: LambdaContext
) -> None:
    def route() -> Any:
        # An instance built without validation, as a bug in a service could return one.
        return model.model_construct(count=-1 if model is Checked else "not a number")

    route.__annotations__["return"] = model  # the route's declared return model
    app = create_app()
    app.get("/x")(route)

    answer = app.resolve(_event(), lambda_context)

    # Our answer broke our own model: a 500 with the generic message, not a 422 blaming the caller.
    assert answer["statusCode"] == 500
    assert json.loads(answer["body"])["code"] == "internal_error"
